import { group } from '../command.js';
import { apiFetchCommands } from './api-fetch.js';
import { apiValidateCommands } from './api-validate.js';
import { apiWatchCommand } from './api-watch.js';

/** The Workload API, as a workload on this node sees it (like spire-agent api). */
export const apiCommands = group('api', 'Use the SPIFFE Workload API of the local agent, as a workload does', [apiFetchCommands, apiValidateCommands, apiWatchCommand]);
