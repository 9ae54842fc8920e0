import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, parseConfig, parseHostPort, readYamlFile } from '../common/config-file.js';
import { logFormats, type LogFormat } from '../common/log-text.js';
import { logLevels, type LogLevel } from '../common/logger.js';
import { parseSpiffeId } from '../spiffe/id.js';
import { adminSocketPlacementError } from './endpoints/delegated/socket-placement.js';

const spiffeIdSchema = z.string().transform((value, ctx) => {
  try {
    return parseSpiffeId(value).toString();
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not a SPIFFE ID: ${JSON.stringify(value)} (${(err as Error).message})` });
    return z.NEVER;
  }
});

/** A SPIFFE ID that IDs under it share; `spiffe://td/a/` and `spiffe://td/a` are the same prefix. */
const spiffeIdPrefixSchema = z.string().transform((value, ctx) => {
  try {
    return parseSpiffeId(value.endsWith('/') ? value.slice(0, -1) : value).toString();
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `not a SPIFFE ID prefix: ${JSON.stringify(value)} (${(err as Error).message})` });
    return z.NEVER;
  }
});

/** What one delegate may ask the Delegated Identity API for (beyond SPIRE, which has no such limit). */
const delegateScopeSchema = z
  .strictObject({
    selector_types: z.array(z.string().regex(/^[^:]+$/, 'a selector type is non-empty and has no ":"')).min(1).optional(),
    selectors: z.array(z.string().regex(/^[^:]+:.+$/, 'must be "type:value", e.g. "k8s:pod-uid:..." or "cilium:mutual-auth"')).min(1).optional(),
    spiffe_id_prefixes: z.array(spiffeIdPrefixSchema).min(1).optional(),
  })
  .refine((s) => s.selector_types || s.selectors || s.spiffe_id_prefixes, 'give at least one of selector_types, selectors, spiffe_id_prefixes');

export type DelegateScopeConfig = z.infer<typeof delegateScopeSchema>;

const agentConfigSchema = z.strictObject({
  trust_domain: z.string().min(1).max(255).regex(/^[a-z0-9._-]+$/, 'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores'),
  server_address: z.string().refine((v) => parseHostPort(v) !== undefined, 'must be host:port of the server agent API, e.g. 127.0.0.1:8443').default('127.0.0.1:8443'),
  data_dir: z.string().min(1).default('./.sigil/agent'),
  socket_path: z.string().min(1).max(107, 'must be at most 107 bytes (the unix socket path limit)').default('/tmp/sigil-agent/public/api.sock'),
  trust_bundle_path: z.string().min(1).optional(),
  insecure_bootstrap: z.boolean().default(false),
  join_token: z.string().min(1).optional(),
  health_addr: z.string().refine((v) => parseHostPort(v) !== undefined, 'must be host:port, e.g. 127.0.0.1:8082').default('127.0.0.1:8082'),
  log_level: z.enum(logLevels as [LogLevel, ...LogLevel[]]).default('info'),
  log_format: z.enum(logFormats as [LogFormat, ...LogFormat[]]).default('auto'),
  max_svids: z.number().int().min(1).max(1_000_000).default(50_000),
  // go-spiffe and grpc-go refuse messages over 4 MiB by default: keep CRLs in Workload API
  // responses well under that (about 24,000 revoked serials per MiB with reason codes).
  workload_crl_max_bytes: z.number().int().min(0).max(64 * 1024 * 1024).default(1024 * 1024),
  // Envoy SDS resource names and validation-context form, as SPIRE's agent `sds` block.
  sds: z
    .strictObject({
      default_svid_name: z.string().min(1).default('default'),
      default_bundle_name: z.string().min(1).default('ROOTCA'),
      default_all_bundles_name: z.string().min(1).default('ALL'),
      disable_spiffe_cert_validation: z.boolean().default(false),
    })
    .prefault({}),
  admin_socket_path: z.string().min(1).max(107, 'must be at most 107 bytes (the unix socket path limit)').optional(),
  authorized_delegates: z.array(spiffeIdSchema).default([]),
  delegate_scopes: z.record(z.string(), delegateScopeSchema).default({}),
  broker: z
    .strictObject({
      socket_path: z.string().min(1).max(107, 'must be at most 107 bytes (the unix socket path limit)').optional(),
      authorized_callers: z.array(spiffeIdSchema).default([]),
    })
    .prefault({}),
}).superRefine((config, ctx) => {
  if (config.authorized_delegates.length > 0 && config.admin_socket_path === undefined) {
    ctx.addIssue({ code: 'custom', path: ['authorized_delegates'], message: 'the Delegated Identity API is served only on the admin socket: set admin_socket_path too' });
  }
  if (config.broker.authorized_callers.length > 0 && config.broker.socket_path === undefined) {
    ctx.addIssue({ code: 'custom', path: ['broker', 'authorized_callers'], message: 'the Broker API is served only on its own socket: set broker.socket_path too' });
  }
  for (const id of Object.keys(config.delegate_scopes)) {
    if (!config.authorized_delegates.includes(id)) ctx.addIssue({ code: 'custom', path: ['delegate_scopes', id], message: 'not in authorized_delegates (a scope for a SPIFFE ID that is not a delegate is a typo)' });
  }
});

export type RawAgentConfig = z.infer<typeof agentConfigSchema>;

export interface AgentConfig extends RawAgentConfig {
  healthHost: string;
  healthPort: number;
}

export const agentEnvironmentOverrides = {
  SIGIL_DATA_DIR: 'data_dir',
  SIGIL_TRUST_DOMAIN: 'trust_domain',
  SIGIL_LOG_LEVEL: 'log_level',
  SIGIL_LOG_FORMAT: 'log_format',
  SIGIL_SERVER_ADDRESS: 'server_address',
  SIGIL_AGENT_SOCKET: 'socket_path',
  SIGIL_JOIN_TOKEN: 'join_token',
  SIGIL_AGENT_HEALTH_ADDR: 'health_addr',
} as const;

/** Load and validate the agent config: file (optional), SIGIL_* environment, then flags. */
export function loadAgentConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env, flags: Partial<Record<keyof RawAgentConfig, unknown>> = {}): AgentConfig {
  const raw = path ? readYamlFile(path) : {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`config file ${path}: the top level must be a mapping of keys`);
  const base = path ? resolve(path, '..') : process.cwd();
  const merged: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  for (const key of ['data_dir', 'socket_path', 'trust_bundle_path', 'admin_socket_path'] as const) {
    const v = merged[key];
    if (typeof v === 'string' && !isAbsolute(v)) merged[key] = resolve(base, v);
  }
  for (const [name, key] of Object.entries(agentEnvironmentOverrides)) {
    const value = env[name];
    if (value !== undefined && value !== '') merged[key] = key === 'data_dir' || key === 'socket_path' ? resolve(value) : value;
  }
  for (const [key, value] of Object.entries(flags)) {
    if (value !== undefined) merged[key] = typeof value === 'string' && (key === 'data_dir' || key === 'socket_path' || key === 'trust_bundle_path' || key === 'admin_socket_path') ? resolve(value) : value;
  }
  if (merged.trust_domain === undefined) throw new ConfigError('invalid config: trust_domain: required (set it in the config file or SIGIL_TRUST_DOMAIN)');
  const parsed = parseConfig(agentConfigSchema, merged, path ?? 'environment');
  const health = parseHostPort(parsed.health_addr);
  if (!health) throw new ConfigError('invalid config: health_addr: must be host:port');
  const socketPath = resolve(base, parsed.socket_path);
  const adminSocketPath = parsed.admin_socket_path === undefined ? undefined : resolve(base, parsed.admin_socket_path);
  const placement = adminSocketPath === undefined ? undefined : adminSocketPlacementError(socketPath, adminSocketPath);
  if (placement) throw new ConfigError(`invalid config (${path ?? 'environment'}): admin_socket_path: ${placement}`);
  const broker = { ...parsed.broker, socket_path: parsed.broker.socket_path === undefined ? undefined : resolve(base, parsed.broker.socket_path) };
  return { ...parsed, data_dir: resolve(base, parsed.data_dir), socket_path: socketPath, admin_socket_path: adminSocketPath, broker, healthHost: health.host, healthPort: health.port };
}
