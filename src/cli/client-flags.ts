import type { FlagSpec, FlagSpecs } from './command.js';

export const serverAddrFlag: FlagSpec = {
  type: 'string',
  valueName: 'HOST:PORT',
  description: 'admin API address of the server (default: $SIGIL_ADMIN_ADDR, else 127.0.0.1:8081)',
};
export const tokenFileFlag: FlagSpec = {
  type: 'string',
  valueName: 'PATH',
  description: 'file holding the admin bearer token (default: <data_dir>/admin.token, data_dir from --config, $SIGIL_DATA_DIR or ./.sigil/server)',
};
export const configFlag: FlagSpec = {
  type: 'string',
  valueName: 'FILE',
  description: 'server config file to take data_dir and admin_addr from',
};
export const outputFlag: FlagSpec = {
  type: 'string',
  valueName: 'FORMAT',
  choices: ['pretty', 'json'],
  description: 'output format: pretty (default) or json',
};

/** The flags of every command that talks to the admin API. */
export const clientFlags: FlagSpecs = {
  'server-addr': serverAddrFlag,
  'token-file': tokenFileFlag,
  config: configFlag,
  output: outputFlag,
};

/** The same, for the commands that need no token (the public bundle, the health check). */
export const publicClientFlags: FlagSpecs = { 'server-addr': serverAddrFlag, config: configFlag, output: outputFlag };

export const sharedFlagSpecs: ReadonlySet<FlagSpec> = new Set(Object.values(clientFlags));
