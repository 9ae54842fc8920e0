/**
 * Settings of `sigil api watch`: a YAML file (`--config`) with spiffe-helper's option names where
 * they fit, then command-line flags over it. Unknown keys are refused by name, like the server's
 * and agent's config files.
 */
import { constants } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, parseConfig, parseHostPort, readYamlFile } from '../../../common/config-file.js';

export interface JwtSvidFileSetting {
  audience: string;
  extraAudiences: string[];
  fileName: string;
}

export interface HealthSetting {
  host: string;
  port: number;
  livenessPath: string;
  readinessPath: string;
}

export interface WatchSettings {
  socket?: string;
  /** Where the files go; undefined: print updates only. */
  certDir?: string;
  svidFileName: string;
  keyFileName: string;
  bundleFileName: string;
  /** Certificate chain then key in one file (HAProxy's `crt`). */
  combinedFileName?: string;
  /** Every CRL the agent sends, as PEM (nginx `ssl_crl`, HAProxy `crl-file`). */
  crlFileName?: string;
  /** Intermediates go to the bundle file instead of the SVID file. */
  addIntermediatesToBundle: boolean;
  /** Federated trust domains' CAs are appended to the bundle file. */
  includeFederatedDomains: boolean;
  certFileMode: number;
  keyFileMode: number;
  jwtSvidFileMode: number;
  jwtSvids: JwtSvidFileSetting[];
  spiffeId?: string;
  hint?: string;
  /** Run with /bin/sh -c after each change of the files. */
  exec?: string;
  /** Start this consumer after the first write and supervise it. */
  cmd?: string;
  cmdArgs: string[];
  renewSignal?: NodeJS.Signals;
  /** Signal the process whose pid is in this file after each change. */
  pidFileName?: string;
  /** Write once and exit (spiffe-helper's daemon_mode: false). */
  once: boolean;
  health?: HealthSetting;
}

export const defaultFileNames = { svidFileName: 'svid.pem', keyFileName: 'svid.key', bundleFileName: 'bundle.pem' } as const;

/** A plain file name in cert_dir: no folders, no dot names (the generation folders start with ".."). */
const fileNameSchema = z
  .string()
  .min(1)
  .refine((name) => !name.includes('/') && !name.startsWith('.'), 'must be a plain file name in cert_dir (no "/", not starting with ".")');

export function parseSignalName(value: string): NodeJS.Signals | undefined {
  const name = value.toUpperCase().startsWith('SIG') ? value.toUpperCase() : `SIG${value.toUpperCase()}`;
  return name in constants.signals ? (name as NodeJS.Signals) : undefined;
}

const signalSchema = z.string().transform((value, ctx) => {
  const signal = parseSignalName(value);
  if (signal === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a signal name: ${JSON.stringify(value)} (e.g. SIGHUP, SIGUSR1, SIGUSR2)` });
    return z.NEVER;
  }
  return signal;
});

/** "0644" (a string of octal digits) or a number: YAML 1.1 reads an unquoted 0644 as octal, as HCL does. */
export function parseFileMode(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= 0o777 ? value : undefined;
  return /^0?o?[0-7]{3}$/.test(value) ? Number.parseInt(value.replace(/^0?o?/, ''), 8) : undefined;
}

const fileModeSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const mode = parseFileMode(value);
  if (mode === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a file mode: ${JSON.stringify(value)} (e.g. 0644 or "0600")` });
    return z.NEVER;
  }
  return mode;
});

const watchConfigSchema = z.strictObject({
  agent_address: z.string().min(1).optional(),
  cert_dir: z.string().min(1).optional(),
  svid_file_name: fileNameSchema.optional(),
  svid_key_file_name: fileNameSchema.optional(),
  svid_bundle_file_name: fileNameSchema.optional(),
  // Sigil's own: spiffe-helper has no combined file or CRL file.
  svid_combined_file_name: fileNameSchema.optional(),
  crl_file_name: fileNameSchema.optional(),
  add_intermediates_to_bundle: z.boolean().optional(),
  include_federated_domains: z.boolean().optional(),
  cert_file_mode: fileModeSchema.optional(),
  key_file_mode: fileModeSchema.optional(),
  jwt_svid_file_mode: fileModeSchema.optional(),
  jwt_svids: z
    .array(z.strictObject({ jwt_audience: z.string().min(1), jwt_extra_audiences: z.array(z.string().min(1)).optional(), jwt_svid_file_name: fileNameSchema }))
    .optional(),
  spiffe_id: z.string().min(1).optional(),
  hint: z.string().optional(),
  exec: z.string().min(1).optional(),
  cmd: z.string().min(1).optional(),
  // spiffe-helper takes one string split at spaces; a list keeps arguments with spaces whole.
  cmd_args: z.union([z.string(), z.array(z.string())]).optional(),
  renew_signal: signalSchema.optional(),
  pid_file_name: z.string().min(1).optional(),
  daemon_mode: z.boolean().optional(),
  health_checks: z
    .strictObject({
      listener_enabled: z.boolean().default(false),
      bind_address: z.string().min(1).default('0.0.0.0'),
      bind_port: z.number().int().min(0).max(65535).default(8081),
      liveness_path: z.string().startsWith('/').default('/live'),
      readiness_path: z.string().startsWith('/').default('/ready'),
    })
    .optional(),
});

export type WatchConfigFile = z.infer<typeof watchConfigSchema>;

/** The file's settings; relative paths in it are relative to the working folder, as spiffe-helper's are. */
export function loadWatchConfig(path: string): WatchConfigFile {
  return parseWatchConfig(readYamlFile(path, { version: '1.1' }), path);
}

export function parseWatchConfig(raw: unknown, source: string): WatchConfigFile {
  return parseConfig(watchConfigSchema, raw ?? {}, source);
}

/** What the command line says; every field optional (undefined: the file's value or the default). */
export interface WatchFlags {
  socket?: string;
  write?: string;
  svidFile?: string;
  keyFile?: string;
  bundleFile?: string;
  combinedFile?: string;
  crlFile?: string;
  certMode?: string;
  keyMode?: string;
  federated?: boolean;
  spiffeId?: string;
  hint?: string;
  exec?: string;
  cmd?: string;
  cmdArgs?: string[];
  renewSignal?: string;
  pidFile?: string;
  once?: boolean;
  healthAddr?: string;
}

function flagError(flag: string, value: string, why: string): ConfigError {
  return new ConfigError(`invalid value ${JSON.stringify(value)} for flag --${flag}: ${why}`);
}

function fileNameFlag(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const checked = fileNameSchema.safeParse(value);
  if (!checked.success) throw flagError(flag, value, 'must be a plain file name in the --write folder (no "/", not starting with ".")');
  return value;
}

function modeFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const mode = parseFileMode(value);
  if (mode === undefined) throw flagError(flag, value, 'is not an octal file mode such as 0644');
  return mode;
}

/** Flags over the file over the defaults; `baseDir` resolves the file's relative paths. */
export function watchSettings(flags: WatchFlags, file: WatchConfigFile = {}, baseDir = process.cwd()): WatchSettings {
  const fromFile = (path: string | undefined) => (path === undefined || isAbsolute(path) ? path : resolve(baseDir, path));
  const renewSignal = flags.renewSignal === undefined ? file.renew_signal : parseSignalName(flags.renewSignal);
  if (flags.renewSignal !== undefined && renewSignal === undefined) throw flagError('renew-signal', flags.renewSignal, 'is not a signal name (e.g. SIGHUP, SIGUSR1, SIGUSR2)');
  const cmdArgs = flags.cmdArgs?.length ? flags.cmdArgs : typeof file.cmd_args === 'string' ? file.cmd_args.split(/\s+/).filter(Boolean) : (file.cmd_args ?? []);
  let health: HealthSetting | undefined;
  if (flags.healthAddr !== undefined) {
    const hostPort = parseHostPort(flags.healthAddr);
    if (!hostPort) throw flagError('health-addr', flags.healthAddr, 'must be host:port, e.g. 127.0.0.1:8090');
    health = { ...hostPort, livenessPath: file.health_checks?.liveness_path ?? '/live', readinessPath: file.health_checks?.readiness_path ?? '/ready' };
  } else if (file.health_checks?.listener_enabled) {
    const h = file.health_checks;
    health = { host: h.bind_address, port: h.bind_port, livenessPath: h.liveness_path, readinessPath: h.readiness_path };
  }
  const settings: WatchSettings = {
    socket: flags.socket ?? file.agent_address,
    certDir: flags.write ?? fromFile(file.cert_dir),
    svidFileName: fileNameFlag('svid-file', flags.svidFile) ?? file.svid_file_name ?? defaultFileNames.svidFileName,
    keyFileName: fileNameFlag('key-file', flags.keyFile) ?? file.svid_key_file_name ?? defaultFileNames.keyFileName,
    bundleFileName: fileNameFlag('bundle-file', flags.bundleFile) ?? file.svid_bundle_file_name ?? defaultFileNames.bundleFileName,
    combinedFileName: fileNameFlag('combined-file', flags.combinedFile) ?? file.svid_combined_file_name,
    crlFileName: fileNameFlag('crl-file', flags.crlFile) ?? file.crl_file_name,
    addIntermediatesToBundle: file.add_intermediates_to_bundle ?? false,
    includeFederatedDomains: flags.federated || (file.include_federated_domains ?? false),
    certFileMode: modeFlag('cert-mode', flags.certMode) ?? file.cert_file_mode ?? 0o644,
    keyFileMode: modeFlag('key-mode', flags.keyMode) ?? file.key_file_mode ?? 0o600,
    jwtSvidFileMode: file.jwt_svid_file_mode ?? 0o600,
    jwtSvids: (file.jwt_svids ?? []).map((j) => ({ audience: j.jwt_audience, extraAudiences: j.jwt_extra_audiences ?? [], fileName: j.jwt_svid_file_name })),
    spiffeId: flags.spiffeId ?? file.spiffe_id,
    hint: flags.hint ?? file.hint,
    exec: flags.exec ?? file.exec,
    cmd: flags.cmd ?? file.cmd,
    cmdArgs,
    renewSignal,
    pidFileName: flags.pidFile ?? fromFile(file.pid_file_name),
    once: flags.once || file.daemon_mode === false,
    health,
  };
  checkSettings(settings);
  return settings;
}

function checkSettings(s: WatchSettings): void {
  const names = [s.svidFileName, s.keyFileName, s.bundleFileName, s.combinedFileName, s.crlFileName, ...s.jwtSvids.map((j) => j.fileName)].filter((n): n is string => n !== undefined);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) throw new ConfigError(`the file name ${twice} is given for two files`);
  if (s.certDir === undefined && (s.combinedFileName || s.crlFileName || s.jwtSvids.length > 0)) throw new ConfigError('file names are given but no folder: set cert_dir (or --write DIR)');
  if (s.pidFileName !== undefined && s.renewSignal === undefined) throw new ConfigError('pid_file_name needs renew_signal: the signal to send to that process');
  if (s.cmd !== undefined && s.pidFileName !== undefined) throw new ConfigError('give cmd (start and signal a consumer) or pid_file_name (signal a running one), not both');
  if (s.cmdArgs.length > 0 && s.cmd === undefined) throw new ConfigError('cmd_args without cmd');
  if (s.once && (s.cmd !== undefined || s.health !== undefined)) throw new ConfigError('daemon_mode: false (--once) writes the files and exits: it cannot run cmd or a health listener');
}
