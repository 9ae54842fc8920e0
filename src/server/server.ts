import { preparePrivateDirectory, preparePrivateFile, removeStaleTempFiles, tightenIfPresent, writeFileAtomic } from '../common/files.js';
import { crashPoint } from '../common/crash-point.js';
import type { Express } from 'express';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../common/clock.js';
import { createLogger, type Logger } from '../common/logger.js';
import { generateSecretToken, hashSecretToken } from '../common/secrets.js';
import { openStore, type Store } from '../store/store.js';
import { startAgentApi, type AgentApi } from './agent-api/agent-listener.js';
import { createAdminApp } from './api/app.js';
import type { ApiContext } from './api/context.js';
import { CertificateAuthority } from './ca/certificate-authority.js';
import { CrlPublisher } from './ca/crl-publisher.js';
import { inProcessCsrVerifier } from './ca/csr-verifier.js';
import { CsrVerifierPool } from './ca/csr-verifier-pool.js';
import { createOidcDiscoveryApp } from './oidc/discovery-app.js';
import { parseHostPort } from '../common/config-file.js';
import { DiskKeyManager, type KeyManager } from './ca/key-manager.js';
import { loadUpstreamCa } from './ca/upstream.js';
import { nextAlertAt } from './lifecycle/expiry-alerts.js';
import { registerLifecycleMetrics } from './lifecycle/lifecycle-metrics.js';
import { LifecycleScheduler } from './lifecycle/scheduler.js';
import { RevocationService } from './lifecycle/revocation.js';
import type { ServerConfig } from './config.js';
import { registerCrlMetrics } from './crl-metrics.js';
import { reportUnissuableEntries } from './spiffe-id-rules.js';
import { createServerMetrics } from './metrics.js';
import { createWebhookDispatcher } from './webhooks/create-dispatcher.js';
import { registerWebhookMetrics } from './webhooks/webhook-metrics.js';

export interface ServerOptions {
  clock?: Clock;
  log?: Logger;
  keyManager?: KeyManager;
  /** Listen for HTTP (default true); tests with supertest pass false. */
  listen?: boolean;
}

export interface RunningServer {
  store: Store;
  ca: CertificateAuthority;
  context: ApiContext;
  app: ReturnType<typeof createAdminApp>;
  http?: HttpServer;
  /** Where the admin API listens, host:port (with the real port when 0 was asked). */
  adminAddress?: string;
  /** host:port of the OIDC discovery listener, when `oidc_discovery` is configured. */
  oidcAddress?: string;
  agentApi?: AgentApi;
  scheduler: LifecycleScheduler;
  bootstrapToken?: string;
  close(): Promise<void>;
}

export const defaultJoinTokenTtlSeconds = 600;

/**
 * Writes the bootstrap admin token on the first start only, readable by the owner alone. The
 * file is on disk (fsynced) before the token is valid: a crash in between leaves a token that
 * the next start replaces, never a valid token that nobody has.
 */
function ensureBootstrapToken(store: Store, dataDir: string, now: number, log: Logger): string | undefined {
  const path = join(dataDir, 'admin.token');
  for (const stale of removeStaleTempFiles(path)) log.warn({ file: stale }, 'removed a temp file left by an interrupted write');
  if (store.adminTokens.count() > 0) return undefined;
  const token = generateSecretToken('sat');
  writeFileAtomic(path, `${token}\n`, 0o600);
  crashPoint('bootstrap:after-token-file');
  store.transaction(() => {
    store.adminTokens.create(hashSecretToken(token), 'bootstrap', 'admin', now);
    store.audit.record(now, { actor: 'server', action: 'admin_token.create', target: 'bootstrap', result: 'ok', detail: { path } });
  });
  log.info({ path }, 'wrote the bootstrap admin token');
  return token;
}

/** data_dir holds the database (webhook secrets, token hashes), CA keys and the admin token: owner only. */
function protectDataDir(dataDir: string, log: Logger): void {
  const repairs = preparePrivateDirectory(dataDir, 'data_dir');
  for (const name of ['sigil.db-wal', 'sigil.db-shm', 'admin.token']) repairs.push(...tightenIfPresent(join(dataDir, name)));
  // SQLite creates the -wal and -shm files with the mode of the database file.
  repairs.push(...preparePrivateFile(join(dataDir, 'sigil.db')));
  for (const repair of repairs) log.warn({ repair }, 'tightened the permissions of data_dir (it holds secrets)');
}

function checkTrustDomain(store: Store, trustDomain: string, dataDir: string): void {
  const stored = store.settings.get('trust_domain');
  if (stored === undefined) {
    store.settings.set('trust_domain', trustDomain);
  } else if (stored !== trustDomain) {
    throw new Error(`data_dir ${dataDir} belongs to trust domain "${stored}", but the config says "${trustDomain}"; use another data_dir or fix trust_domain`);
  }
}

/** Listen with an Express app; `what` names the setting in the error (a port in use, say). Resolves with the real host:port. */
async function listenHttp(app: Express, host: string, port: number, what: string): Promise<{ server: HttpServer; address: string }> {
  const server = await new Promise<HttpServer>((resolveListen, reject) => {
    // Express 5 passes a listen error (port in use) to this callback.
    const listening = app.listen(port, host, (err?: Error) => (err ? reject(new Error(`cannot listen on ${what}: ${err.message}`)) : resolveListen(listening)));
  });
  const addr = server.address() as AddressInfo;
  return { server, address: `${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}` };
}

async function closeHttp(server: HttpServer): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

export async function startServer(config: ServerConfig, options: ServerOptions = {}): Promise<RunningServer> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger(config.log_level, process.stderr, config.log_format);
  protectDataDir(config.data_dir, log);
  const store = openStore(join(config.data_dir, 'sigil.db'));
  let csrVerifier = inProcessCsrVerifier;
  try {
    checkTrustDomain(store, config.trust_domain, config.data_dir);
    reportUnissuableEntries(store.entries, config.trust_domain, log);
    const upstream = config.ca.upstream ? await loadUpstreamCa(config.ca.upstream) : undefined;
    const keyManager = options.keyManager ?? new DiskKeyManager(join(config.data_dir, 'keys'));
    const csrThreads = config.ca.csr_threads ?? Math.max(1, availableParallelism() - 1);
    csrVerifier = csrThreads > 0 ? new CsrVerifierPool(csrThreads, log) : inProcessCsrVerifier;
    const ca = new CertificateAuthority(store, keyManager, clock, log, {
      trustDomain: config.trust_domain,
      caKeyType: config.ca.key_type,
      caTtlSeconds: config.ca.ttl,
      caSubject: config.ca.subject,
      jwtKeyType: config.jwt.key_type,
      jwtKeyTtlSeconds: config.jwt.ttl,
      svidKeyType: config.svid.key_type,
      defaultX509TtlSeconds: config.svid.default_x509_ttl,
      defaultJwtTtlSeconds: config.svid.default_jwt_ttl,
      maxSvidTtlSeconds: config.svid.max_ttl,
      upstream,
      bundleGraceSeconds: config.lifecycle.bundle_grace,
      firstAlertAt: (notBefore, notAfter) => nextAlertAt(notBefore, notAfter, config.lifecycle.alert_thresholds, 0),
      jwtIssuer: config.jwt.issuer,
    }, csrVerifier);
    await ca.ensureAuthorities();
    const crls = new CrlPublisher(store, keyManager, clock, log, { validitySeconds: config.crl.validity });
    await crls.publishAll();
    const bootstrapToken = ensureBootstrapToken(store, config.data_dir, clock.now().getTime(), log);
    const context: ApiContext = {
      store,
      ca,
      clock,
      log,
      metrics: createServerMetrics(store),
      crls,
      revocations: new RevocationService(store, crls, clock, log),
      webhooks: createWebhookDispatcher({ store, clock, log, config: config.webhooks }),
      trustDomain: config.trust_domain,
      defaults: { x509SvidTtl: config.svid.default_x509_ttl, jwtSvidTtl: config.svid.default_jwt_ttl, joinTokenTtl: defaultJoinTokenTtlSeconds },
    };
    const isReady = () => {
      const now = clock.now().getTime();
      const x509 = store.authorities.active('x509');
      const jwt = store.authorities.active('jwt');
      if (!x509 || x509.notAfter <= now) return { ready: false, reason: 'no valid X.509 signing authority' };
      if (!jwt || jwt.notAfter <= now) return { ready: false, reason: 'no valid JWT signing authority' };
      return { ready: true, reason: '' };
    };
    const app = createAdminApp(context, isReady);
    registerCrlMetrics(context.metrics.registry, crls);
    registerWebhookMetrics(context.metrics.registry, context.webhooks.metrics);
    const scheduler = new LifecycleScheduler({
      refreshCrls: (now) => crls.refreshDue(now).then(() => undefined),
      deleteKey: (id) => keyManager.delete(id),
      store,
      ca,
      clock,
      log,
      settings: { intervalMs: config.lifecycle.interval * 1000, retentionMs: config.lifecycle.retention * 1000, thresholds: config.lifecycle.alert_thresholds, staleAgentAfterMs: config.lifecycle.stale_agent_after * 1000 },
    });
    registerLifecycleMetrics(context.metrics.registry, scheduler, store, clock);
    if (options.listen !== false) scheduler.start();

    let http: HttpServer | undefined;
    let adminAddress: string | undefined;
    let agentApi: AgentApi | undefined;
    let oidc: HttpServer | undefined;
    let oidcAddress: string | undefined;
    if (options.listen !== false) {
      const admin = await listenHttp(app, config.adminHost, config.adminPort, `admin_addr ${config.admin_addr}`).catch((err: unknown) => {
        void scheduler.stop();
        throw err;
      });
      http = admin.server;
      adminAddress = admin.address;
      const httpServer = http;
      agentApi = await startAgentApi(
        { store, ca, clock, log, metrics: context.metrics, agentSvidTtlSeconds: config.svid.agent_ttl, currentCrls: () => crls.current() },
        config.agentApiHost,
        config.agentApiPort,
        config.svid.server_ttl,
      ).catch((err: unknown) => {
        void scheduler.stop();
        httpServer.close();
        throw err;
      });
      if (config.oidc_discovery && config.jwt.issuer) {
        const { host, port } = parseHostPort(config.oidc_discovery.addr) as { host: string; port: number };
        const listening = agentApi;
        const discovery = await listenHttp(createOidcDiscoveryApp(ca, config.jwt.issuer), host, port, `oidc_discovery.addr ${config.oidc_discovery.addr}`).catch(async (err: unknown) => {
          void scheduler.stop();
          httpServer.close();
          await listening.close();
          throw err;
        });
        oidc = discovery.server;
        oidcAddress = discovery.address;
      }
      log.info({ admin_addr: adminAddress, agent_api_addr: agentApi.address, ...(oidcAddress && { oidc_discovery_addr: oidcAddress, issuer: config.jwt.issuer }), trust_domain: config.trust_domain, data_dir: config.data_dir }, 'sigil server listening');
    }
    // Tests without a listener drive it themselves (runDue, deliverNow), as they do the scheduler.
    if (options.listen !== false) context.webhooks.start();
    const close = async () => {
      await scheduler.stop();
      await agentApi?.close();
      await context.webhooks.stop();
      if (oidc) await closeHttp(oidc);
      if (http) await closeHttp(http);
      await csrVerifier.close();
      store.close();
    };
    return { store, ca, context, app, scheduler, ...(http && { http }), ...(adminAddress && { adminAddress }), ...(oidcAddress && { oidcAddress }), ...(agentApi && { agentApi }), ...(bootstrapToken && { bootstrapToken }), close };
  } catch (err) {
    await csrVerifier.close();
    store.close();
    throw err;
  }
}

export function adminTokenPath(dataDir: string): string {
  return join(dataDir, 'admin.token');
}

