export interface BackoffSettings {
  baseMs: number;
  maxMs: number;
}

/**
 * How long to wait after the `failedAttempts`-th failure: exponential (base, 2×base, 4×base, ...)
 * up to max, with "equal jitter": a random point in the upper half, so that deliveries that failed
 * together (a receiver that went down) do not all retry in the same instant.
 */
export function retryDelayMs(failedAttempts: number, backoff: BackoffSettings, random: () => number = Math.random): number {
  const nominal = Math.min(backoff.maxMs, backoff.baseMs * 2 ** Math.max(0, failedAttempts - 1));
  return Math.round(nominal / 2 + random() * (nominal / 2));
}
