import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError, durationSchema, parseConfig, parseHostPort, readYamlFile } from '../common/config-file.js';
import { logFormats, type LogFormat } from '../common/log-text.js';
import { logLevels, type LogLevel } from '../common/logger.js';
import { keyAlgorithms } from '../pki/keys.js';

const trustDomainPattern = /^[a-z0-9._-]+$/;

function isIssuerUrl(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#') || url.username !== '' || url.password !== '') return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

const serverConfigSchema = z.strictObject({
  trust_domain: z
    .string()
    .min(1, 'must not be empty')
    .max(255, 'must be at most 255 bytes (SPIFFE ID-15)')
    .regex(trustDomainPattern, 'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores'),
  data_dir: z.string().min(1).default('./.sigil/server'),
  admin_addr: z
    .string()
    .refine((v) => parseHostPort(v) !== undefined, 'must be host:port, e.g. 127.0.0.1:8081')
    .default('127.0.0.1:8081'),
  agent_api_addr: z
    .string()
    .refine((v) => parseHostPort(v) !== undefined, 'must be host:port, e.g. 127.0.0.1:8443')
    .default('127.0.0.1:8443'),
  log_level: z.enum(logLevels as [LogLevel, ...LogLevel[]]).default('info'),
  log_format: z.enum(logFormats as [LogFormat, ...LogFormat[]]).default('auto'),
  ca: z
    .strictObject({
      key_type: z.enum(keyAlgorithms).default('ec-p256'),
      ttl: durationSchema(10).default(7 * 86400),
      subject: z.string().min(1).default('C=US, O=Sigil'),
      // Worker threads that check CSRs (0: on the event loop); unset: one per core but one.
      csr_threads: z.number().int().min(0).max(64).optional(),
      upstream: z
        .strictObject({
          cert_file: z.string().min(1),
          key_file: z.string().min(1),
          bundle_file: z.string().min(1).optional(),
        })
        .optional(),
    })
    .prefault({}),
  jwt: z
    .strictObject({
      key_type: z.enum(keyAlgorithms).default('ec-p256'),
      ttl: durationSchema(10).default(7 * 86400),
      // OIDC issuer: JWT-SVIDs carry it as `iss`, and the discovery document names it.
      issuer: z
        .string()
        .refine(isIssuerUrl, 'must be an https:// URL without query or fragment (http:// only on localhost or a loopback address)')
        .optional(),
    })
    .prefault({}),
  oidc_discovery: z
    .strictObject({
      // Where /.well-known/openid-configuration and the JWKS it names are served (plain HTTP: put TLS in front, as the issuer is https).
      addr: z.string().refine((v) => parseHostPort(v) !== undefined, 'must be host:port, e.g. 127.0.0.1:8090'),
    })
    .optional(),
  crl: z.strictObject({ validity: durationSchema(60).default(86400) }).prefault({}),
  lifecycle: z
    .strictObject({
      interval: durationSchema(1).default(10),
      alert_thresholds: z
        .array(z.number().gt(0, 'must be above 0').lt(1, 'must be below 1 (expiry itself always alerts)'))
        .max(10)
        .refine((a) => a.every((v, i) => i === 0 || v > (a[i - 1] as number)), 'must be ascending')
        .default([0.5, 0.8]),
      stale_agent_after: durationSchema(60).default(3600),
      bundle_grace: durationSchema(0).default(3600),
      retention: durationSchema(3600).default(7 * 86400),
    })
    .prefault({}),
  svid: z
    .strictObject({
      key_type: z.enum(keyAlgorithms).default('ec-p256'),
      default_x509_ttl: durationSchema(1).default(3600),
      default_jwt_ttl: durationSchema(1).default(300),
      max_ttl: durationSchema(1).default(86400),
      agent_ttl: durationSchema(10).default(3600),
      server_ttl: durationSchema(60).default(3600),
    })
    .prefault({}),
  webhooks: z
    .strictObject({
      timeout: durationSchema(1).default(10),
      max_attempts: z.number().int().min(1).max(100).default(15),
      backoff_base: durationSchema(1).default(10),
      backoff_max: durationSchema(1).default(7200),
      allow_private_destinations: z.boolean().default(false),
    })
    .refine((w) => w.backoff_max >= w.backoff_base, { message: 'must be at least backoff_base', path: ['backoff_max'] })
    .prefault({}),
}).refine((c) => c.oidc_discovery === undefined || c.jwt.issuer !== undefined, { message: 'oidc_discovery needs jwt.issuer (the URL the discovery document is published at)', path: ['jwt', 'issuer'] });

export type RawServerConfig = z.infer<typeof serverConfigSchema>;

export interface ServerConfig extends RawServerConfig {
  /** Absolute. */
  data_dir: string;
  adminHost: string;
  adminPort: number;
  agentApiHost: string;
  agentApiPort: number;
}

export const serverEnvironmentOverrides = {
  SIGIL_DATA_DIR: 'data_dir',
  SIGIL_TRUST_DOMAIN: 'trust_domain',
  SIGIL_ADMIN_ADDR: 'admin_addr',
  SIGIL_AGENT_API_ADDR: 'agent_api_addr',
  SIGIL_LOG_LEVEL: 'log_level',
  SIGIL_LOG_FORMAT: 'log_format',
} as const;

/**
 * Load and validate the server config: file (optional), then SIGIL_* environment overrides.
 * Relative paths in the file are relative to the file's folder; from the environment, to the cwd.
 */
export function loadServerConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const raw = path ? readYamlFile(path) : {};
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`config file ${path}: the top level must be a mapping of keys`);
  }
  const base = path ? resolve(path, '..') : process.cwd();
  const merged: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
  if (typeof merged.data_dir === 'string' && !isAbsolute(merged.data_dir)) merged.data_dir = resolve(base, merged.data_dir);
  for (const [name, key] of Object.entries(serverEnvironmentOverrides)) {
    const value = env[name];
    if (value !== undefined && value !== '') merged[key] = key === 'data_dir' ? resolve(value) : value;
  }
  if (merged.trust_domain === undefined) {
    throw new ConfigError('invalid config: trust_domain: required (set it in the config file or SIGIL_TRUST_DOMAIN)');
  }
  const parsed = parseConfig(serverConfigSchema, merged, path ?? 'environment');
  const ca = parsed.ca.upstream
    ? {
        ...parsed.ca,
        upstream: {
          cert_file: resolve(base, parsed.ca.upstream.cert_file),
          key_file: resolve(base, parsed.ca.upstream.key_file),
          ...(parsed.ca.upstream.bundle_file ? { bundle_file: resolve(base, parsed.ca.upstream.bundle_file) } : {}),
        },
      }
    : parsed.ca;
  const addr = parseHostPort(parsed.admin_addr);
  const agentAddr = parseHostPort(parsed.agent_api_addr);
  if (!addr || !agentAddr) throw new ConfigError('invalid config: admin_addr / agent_api_addr: must be host:port');
  return { ...parsed, ca, data_dir: resolve(base, parsed.data_dir), adminHost: addr.host, adminPort: addr.port, agentApiHost: agentAddr.host, agentApiPort: agentAddr.port };
}
