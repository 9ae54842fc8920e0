import { group, type CommandGroup } from '../command.js';
import { agentCommands } from './agent.js';
import { apiCommands } from './api.js';
import { authorityCommands } from './authority.js';
import { bundleCommands } from './bundle.js';
import { crlCommands } from './crl.js';
import { devCommand } from './dev.js';
import { entryCommands } from './entry.js';
import { healthcheckCommand } from './healthcheck.js';
import { jwtCommands } from './jwt.js';
import { serverCommands } from './server.js';
import { svidCommands } from './svid.js';
import { tokenCommands } from './token.js';
import { webhookCommands } from './webhook.js';
import { x509Commands } from './x509.js';

/** Every `sigil` command, as a tree whose root is the program itself. */
export const sigilCommands: CommandGroup = group('sigil', 'Sigil: a SPIFFE-compatible CA server and node agent', [
  serverCommands,
  devCommand,
  entryCommands,
  tokenCommands,
  bundleCommands,
  x509Commands,
  jwtCommands,
  svidCommands,
  crlCommands,
  agentCommands,
  authorityCommands,
  webhookCommands,
  apiCommands,
  healthcheckCommand,
]);
