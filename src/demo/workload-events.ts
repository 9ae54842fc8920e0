/**
 * What the demo's web and client processes tell the runner: one JSON object per line on stdout.
 * `at` is the wall clock in ms (the processes share the machine's clock).
 */

export interface SvidFacts {
  spiffeId: string;
  serial: string;
  notAfter: string;
}

export type WorkloadEvent =
  /** A first SVID (`replaces` undefined) or a rotated one; the TLS context now uses it. */
  | { type: 'svid'; at: number; svid: SvidFacts; replaces?: string }
  | { type: 'lost'; at: number; serial: string; reason: string }
  | { type: 'crls'; at: number; revoked: number; problems: string[] }
  | { type: 'watch-error'; at: number; message: string }
  | { type: 'listening'; at: number; url: string; admits: string }
  | { type: 'rejected'; at: number; reason: string }
  /** One client request; `stolen`: sent with a kept copy of an SVID the client no longer has. */
  | { type: 'request'; at: number; startedAt: number; stolen: boolean; clientSerial?: string; outcome: RequestOutcome };

export type RequestOutcome = { ok: true; status: number; body: string; serverSerial: string } | { ok: false; stage: 'local' | 'tls'; error: string };

export function reportEvent(event: WorkloadEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

export function parseEventLine(line: string): WorkloadEvent | undefined {
  try {
    const value = JSON.parse(line) as { type?: unknown; at?: unknown };
    return typeof value.type === 'string' && typeof value.at === 'number' ? (value as WorkloadEvent) : undefined;
  } catch {
    return undefined;
  }
}
