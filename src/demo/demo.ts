/**
 * The demo: two workloads (web and client) with SVIDs from a Sigil agent, doing mTLS that checks
 * SPIFFE IDs, across several rotations; then the client's entry is deleted and its SVIDs are
 * revoked, and its next connection must fail within a second. Prints what happens and returns
 * what it measured, with the expectations that were not met.
 */
import { DemoLog, shortSerial } from './demo-log.js';
import type { DemoSigil } from './demo-sigil.js';
import type { WorkloadEvent } from './workload-events.js';
import { planWorkloads, type DemoPlan, type Separation, type WorkloadPlan } from './workload-plan.js';
import { WorkloadProcess, type WorkloadName } from './workload-process.js';

export interface DemoOptions {
  /** X509-SVID TTL of the demo's entries; the agent rotates at 40-45 % of it. */
  svidTtlSeconds: number;
  /** Rotations each workload goes through before the revocation. */
  rotations: number;
  separation: Separation | 'auto';
  /** Milliseconds between the client's requests. */
  requestIntervalMs: number;
  print(line: string): void;
}

export const defaultDemoOptions: Omit<DemoOptions, 'print'> = { svidTtlSeconds: 6, rotations: 3, separation: 'auto', requestIntervalMs: 200 };

/** The revoked client must be refused within this time, as the issue asks. */
export const refusalDeadlineMs = 1000;

export type RequestEvent = Extract<WorkloadEvent, { type: 'request' }>;

export interface DemoOutcome {
  separation: Separation;
  rotations: { web: number; client: number };
  /** Requests before the client's entry was deleted. */
  requestsOk: number;
  requestsFailed: number;
  /** From the entry's deletion to the client losing its SVID. */
  lostAfterMs: number | undefined;
  /** From the revocation to the web server holding a CRL that lists the client. */
  crlAfterMs: number | undefined;
  /** From the revocation to the first refused request that was sent after it. */
  refusedAfterMs: number | undefined;
  /** Client requests sent 1 s or more after the revocation that still got an answer. */
  answeredTooLate: number;
  /** Why the web server refused the revoked SVID. */
  webRejection: string | undefined;
  /** Expectations that were not met; empty when the demo showed what it should. */
  failures: string[];
  events: { from: 'web' | 'client'; event: WorkloadEvent }[];
}

interface EntryJson {
  id: string;
}

const isRequest = (event: WorkloadEvent): event is RequestEvent => event.type === 'request';
const rotationsOf = (events: readonly WorkloadEvent[]) => events.filter((e) => e.type === 'svid' && e.replaces !== undefined).length;

export async function runDemo(sigil: DemoSigil, options: DemoOptions): Promise<DemoOutcome> {
  return new DemoRun(sigil, options).run();
}

type Rejected = Extract<WorkloadEvent, { type: 'rejected' }>;
type Listening = Extract<WorkloadEvent, { type: 'listening' }>;

class DemoRun {
  private readonly log: DemoLog;
  private readonly plan: DemoPlan;
  private readonly processes: WorkloadProcess[] = [];
  private stopping = false;
  private readonly entryIds = new Map<WorkloadName, string>();
  private readonly failures: string[] = [];
  private readonly outcome: DemoOutcome;

  constructor(
    private readonly sigil: DemoSigil,
    private readonly options: DemoOptions,
  ) {
    this.log = new DemoLog(options.print);
    this.plan = planWorkloads(sigil.trustDomain, options.separation);
    this.outcome = {
      separation: this.plan.separation,
      rotations: { web: 0, client: 0 },
      requestsOk: 0,
      requestsFailed: 0,
      lostAfterMs: undefined,
      crlAfterMs: undefined,
      refusedAfterMs: undefined,
      answeredTooLate: 0,
      webRejection: undefined,
      failures: this.failures,
      events: [],
    };
  }

  async run(): Promise<DemoOutcome> {
    const { log, plan, sigil } = this;
    log.say('demo', sigil.description);
    log.say('demo', `agent socket SPIFFE_ENDPOINT_SOCKET=${sigil.endpointSocket}`);
    log.say('demo', plan.explanation);
    try {
      for (const workload of [plan.web, plan.client]) this.entryIds.set(workload.name, await createEntry(sigil, workload, this.options.svidTtlSeconds, log));
      const web = this.start(plan.web, ['--hint', plan.web.hint, '--admit', plan.client.spiffeId]);
      const listening = await web.waitFor('the web server listening', (e): e is Listening => e.type === 'listening', 30_000);
      const client = this.start(plan.client, ['--hint', plan.client.hint, '--url', listening.url, '--expect', plan.web.spiffeId, '--every', String(this.options.requestIntervalMs)]);
      await this.rotations(web, client);
      const stolenWorks = await this.deleteClientEntry(client);
      await this.revokeClient(web, client, stolenWorks);
      this.outcome.events = [...web.events.map((event) => ({ from: 'web' as const, event })), ...client.events.map((event) => ({ from: 'client' as const, event }))];
      log.say('demo', summary(this.outcome));
      return this.outcome;
    } finally {
      this.stopping = true;
      for (const child of this.processes.reverse()) await child.stop();
      for (const id of this.entryIds.values()) await sigil.admin.delete(`/v1/entries/${id}`).catch(() => undefined);
    }
  }

  /** Phase 1: several rotations of both SVIDs, every request answered. */
  private async rotations(web: WorkloadProcess, client: WorkloadProcess): Promise<void> {
    const { rotations, svidTtlSeconds } = this.options;
    const budgetMs = (rotations + 2) * svidTtlSeconds * 1000 + 10_000;
    try {
      await until([web, client], () => rotatedAndUsed(web, client, rotations), budgetMs);
    } catch {
      this.failures.push(`expected ${rotations} rotations of each SVID, each used by a request, within ${budgetMs} ms`);
    }
    const requests = client.events.filter(isRequest);
    const outcome = this.outcome;
    outcome.rotations = { web: rotationsOf(web.events), client: rotationsOf(client.events) };
    outcome.requestsOk = requests.filter((r) => r.outcome.ok).length;
    outcome.requestsFailed = requests.length - outcome.requestsOk;
    if (outcome.requestsFailed > 0) this.failures.push(`${outcome.requestsFailed} requests failed across the rotations`);
    this.log.say('demo', `${outcome.rotations.web} web and ${outcome.rotations.client} client rotations: ${outcome.requestsOk} requests answered, ${outcome.requestsFailed} failed`);
  }

  /** Phase 2: the client's entry goes, with no replacement. True when a stolen copy of its SVID still worked afterwards. */
  private async deleteClientEntry(client: WorkloadProcess): Promise<boolean> {
    const entryId = this.entryIds.get('client');
    this.log.say('demo', `deleting the client's entry ${entryId} (no other entry gives it an identity)`);
    const deletedAt = Date.now();
    await this.sigil.admin.delete(`/v1/entries/${entryId}`);
    this.entryIds.delete('client');
    const lost = await client.waitFor('the client losing its SVID', (e) => e.type === 'lost', 5000).catch(() => undefined);
    this.outcome.lostAfterMs = lost && lost.at - deletedAt;
    if (this.outcome.lostAfterMs === undefined || this.outcome.lostAfterMs > refusalDeadlineMs) this.failures.push(`the client kept its SVID more than ${refusalDeadlineMs} ms after its entry was deleted`);
    const stolen = await client.waitFor('a request with the stolen SVID', (e): e is RequestEvent => isRequest(e) && e.stolen, 3000).catch(() => undefined);
    if (!stolen?.outcome.ok) return false;
    this.log.say('demo', 'deleting the entry stops new SVIDs, but a stolen copy of the last one still works until it is revoked or expires');
    return true;
  }

  /** Phase 3: revoke every valid SVID of the client; from a second later nothing it sends may be answered. */
  private async revokeClient(web: WorkloadProcess, client: WorkloadProcess, stolenWorks: boolean): Promise<void> {
    const { log, outcome, plan } = this;
    const revokedAt = Date.now();
    log.revokedAt = revokedAt;
    const revocation = await this.sigil.admin.postJson<{ revoked: string[]; crls: { crl_number: number }[] }>('/v1/svids/revoke', { spiffe_id: plan.client.spiffeId, reason: 'keyCompromise' });
    log.say('demo', `revoked ${revocation.revoked.length} SVIDs of ${plan.client.spiffeId} (keyCompromise): ${revocation.revoked.map(shortSerial).join(', ')}; CRL ${revocation.crls.map((c) => c.crl_number).join(', ')} published`, revokedAt);
    const refused = await client
      .waitFor('a refused request after the revocation', (e) => isRequest(e) && e.stolen && e.startedAt >= revokedAt && !e.outcome.ok, refusalDeadlineMs + 2000)
      .catch(() => undefined);
    outcome.refusedAfterMs = refused && refused.at - revokedAt;
    const crl = web.events.find((e) => e.type === 'crls' && e.revoked > 0 && e.at >= revokedAt);
    outcome.crlAfterMs = crl && crl.at - revokedAt;
    // Watch past the deadline: nothing sent after it may be answered.
    await sleep(refusalDeadlineMs + 3 * this.options.requestIntervalMs);
    outcome.answeredTooLate = client.events.filter((e) => isRequest(e) && e.startedAt >= revokedAt + refusalDeadlineMs && e.outcome.ok).length;
    outcome.webRejection = web.events.find((e): e is Rejected => e.type === 'rejected' && e.at >= revokedAt)?.reason;
    if (outcome.refusedAfterMs === undefined || outcome.refusedAfterMs > refusalDeadlineMs) this.failures.push(`the revoked client was not refused within ${refusalDeadlineMs} ms`);
    if (outcome.answeredTooLate > 0) this.failures.push(`${outcome.answeredTooLate} client requests were answered more than ${refusalDeadlineMs} ms after the revocation`);
    if (stolenWorks && !/revoked/.test(outcome.webRejection ?? '')) this.failures.push('the web server did not refuse the stolen SVID as revoked');
  }

  private start(workload: WorkloadPlan, args: string[]): WorkloadProcess {
    const child = WorkloadProcess.start({ name: workload.name, runAs: workload.runAs, args, endpointSocket: this.sigil.endpointSocket });
    child.onEvent((event) => this.log.event(workload.name, event));
    child.onExit((why) => !this.stopping && this.log.say(workload.name, why));
    this.processes.push(child);
    return child;
  }
}

async function createEntry(sigil: DemoSigil, workload: WorkloadPlan, ttlSeconds: number, log: DemoLog): Promise<string> {
  // A previous run against the same server may have left its entry behind.
  const stale = await sigil.admin.listAll<EntryJson>('/v1/entries', 'entries', { spiffe_id: workload.spiffeId, parent_id: sigil.agentSpiffeId });
  for (const entry of stale) await sigil.admin.delete(`/v1/entries/${entry.id}`);
  const [type, ...value] = workload.selector.split(':');
  const entry = await sigil.admin.postJson<EntryJson>('/v1/entries', {
    spiffe_id: workload.spiffeId,
    parent_id: sigil.agentSpiffeId,
    selectors: [{ type, value: value.join(':') }],
    hint: workload.hint,
    x509_svid_ttl: ttlSeconds,
  });
  log.say('demo', `entry ${workload.spiffeId}: selector ${workload.selector}, hint ${workload.hint}, X509-SVID TTL ${ttlSeconds}s`);
  return entry.id;
}

/** Each side rotated `rotations` times, and a request succeeded after the latest rotation of both. */
function rotatedAndUsed(web: WorkloadProcess, client: WorkloadProcess, rotations: number): boolean {
  if (rotationsOf(web.events) < rotations || rotationsOf(client.events) < rotations) return false;
  const lastSvid = (events: readonly WorkloadEvent[]) => events.filter((e) => e.type === 'svid').at(-1)?.at ?? Infinity;
  const since = Math.max(lastSvid(web.events), lastSvid(client.events));
  return client.events.some((e) => isRequest(e) && e.outcome.ok && e.startedAt > since);
}

/** Resolves once `condition` holds, checked on every event of `processes`. */
function until(processes: WorkloadProcess[], condition: () => boolean, timeoutMs: number): Promise<void> {
  if (condition()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const unsubscribes: (() => void)[] = [];
    const settle = (err?: Error) => {
      clearTimeout(timer);
      for (const unsubscribe of unsubscribes) unsubscribe();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => settle(new Error(`not within ${timeoutMs} ms`)), timeoutMs);
    for (const child of processes) {
      unsubscribes.push(child.onEvent(() => condition() && settle()));
      unsubscribes.push(child.onExit((why) => settle(new Error(why))));
    }
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function summary(outcome: DemoOutcome): string {
  const facts = [
    `${outcome.rotations.web} web and ${outcome.rotations.client} client rotations with ${outcome.requestsFailed} failed requests`,
    outcome.lostAfterMs === undefined ? 'the client never lost its SVID' : `the client lost its SVID ${outcome.lostAfterMs} ms after its entry was deleted`,
    outcome.crlAfterMs === undefined ? 'the web server never got a CRL listing the client' : `the web server had the CRL ${outcome.crlAfterMs} ms after the revocation`,
    outcome.refusedAfterMs === undefined ? 'the revoked client was never refused' : `the revoked client was refused ${outcome.refusedAfterMs} ms after the revocation`,
  ];
  return `${outcome.failures.length === 0 ? 'PASS' : 'FAIL'}: ${facts.join('; ')}${outcome.failures.length ? `. Not as expected: ${outcome.failures.join('; ')}` : ''}`;
}

