/**
 * The demo's printed account: one line per thing that happens, on a timeline relative to the
 * start. Repeats are left out (a request is printed when its outcome or the serials in play
 * change, a watch error when its text changes), so a rotation or a revocation stands out.
 */
import type { RequestOutcome, WorkloadEvent } from './workload-events.js';

export type Speaker = 'demo' | 'web' | 'client';

export const shortSerial = (serial: string): string => serial.slice(0, 8);

export class DemoLog {
  private readonly lastShape = new Map<string, string>();
  /** When the revocation was sent: later request lines say how long after it they came. */
  revokedAt: number | undefined;

  constructor(
    private readonly print: (line: string) => void,
    readonly startedAt: number = Date.now(),
  ) {}

  /** "+12.34s" on the demo's timeline. */
  relative(at: number): string {
    return `+${((at - this.startedAt) / 1000).toFixed(2)}s`;
  }

  say(speaker: Speaker, text: string, at: number = Date.now()): void {
    this.print(`${this.relative(at).padStart(8)} [${speaker}]${' '.repeat(7 - speaker.length)}${text}`);
  }

  event(speaker: Speaker, event: WorkloadEvent): void {
    const text = this.describe(speaker, event);
    if (text !== undefined) this.say(speaker, text, event.at);
  }

  private describe(speaker: Speaker, event: WorkloadEvent): string | undefined {
    switch (event.type) {
      case 'svid': {
        const validity = `valid until ${this.relative(Date.parse(event.svid.notAfter))}`;
        if (event.replaces === undefined) return `SVID ${shortSerial(event.svid.serial)} for ${event.svid.spiffeId} (${validity}) → TLS context ready`;
        return `rotated: SVID ${shortSerial(event.svid.serial)} replaces ${shortSerial(event.replaces)} (${validity}) → TLS context swapped`;
      }
      case 'lost':
        return `lost its SVID ${shortSerial(event.serial)}: ${event.reason}`;
      case 'crls':
        if (event.revoked === 0 && event.problems.length === 0) return undefined;
        return `CRLs from the Workload API: ${event.revoked} revoked certificate${event.revoked === 1 ? '' : 's'}${event.problems.length ? ` (ignored: ${event.problems.join('; ')})` : ''}${this.sinceRevocation(event.at)}`;
      case 'watch-error':
        // PermissionDenied takes the SVID away, and the 'lost' line that follows says so.
        if (event.message.includes('code = PermissionDenied')) return undefined;
        return this.changed(`${speaker}/watch`, event.message) ? `Workload API: ${event.message}` : undefined;
      case 'listening':
        return `listening on ${event.url}; admits only ${event.admits}`;
      case 'rejected':
        return this.changed(`${speaker}/rejected`, event.reason) ? `refused a client: ${event.reason}` : undefined;
      case 'request':
        return this.describeRequest(event);
    }
  }

  private describeRequest(event: Extract<WorkloadEvent, { type: 'request' }>): string | undefined {
    const { outcome } = event;
    const shape = outcome.ok ? `ok ${event.clientSerial} ${outcome.serverSerial}` : `${outcome.stage} ${outcome.error}`;
    if (!this.changed(event.stolen ? 'stolen' : 'request', shape)) return undefined;
    const who = event.stolen ? `with a stolen copy of SVID ${shortSerial(event.clientSerial ?? '')}: ` : '';
    const after = this.revokedAt !== undefined && event.startedAt >= this.revokedAt ? ` (sent ${event.startedAt - this.revokedAt} ms after the revocation)` : '';
    return `${who}${requestText(outcome, event.stolen ? undefined : event.clientSerial)}${after}`;
  }

  private sinceRevocation(at: number): string {
    return this.revokedAt !== undefined && at >= this.revokedAt ? ` (${at - this.revokedAt} ms after the revocation)` : '';
  }

  private changed(key: string, shape: string): boolean {
    if (this.lastShape.get(key) === shape) return false;
    this.lastShape.set(key, shape);
    return true;
  }
}

function requestText(outcome: RequestOutcome, clientSerial: string | undefined): string {
  if (outcome.ok) {
    const serials = `server SVID ${shortSerial(outcome.serverSerial)}${clientSerial ? `, client SVID ${shortSerial(clientSerial)}` : ''}`;
    return `GET / → ${outcome.status} "${outcome.body}" (${serials})`;
  }
  return outcome.stage === 'local' ? `GET / not sent: ${outcome.error}` : `GET / failed: ${outcome.error}`;
}
