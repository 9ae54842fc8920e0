const unitSeconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const durationPattern = /^(\d+(?:\.\d+)?)(s|m|h|d)/;

/**
 * Parse a duration such as "90s", "15m", "1h30m", "7d" into whole seconds. A bare number is
 * seconds. Returns undefined for anything else so callers can name the offending field.
 */
export function parseDurationSeconds(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.floor(value) : undefined;
  let rest = value.trim();
  if (/^\d+$/.test(rest)) return Number(rest);
  if (rest === '') return undefined;
  let total = 0;
  while (rest.length) {
    const m = durationPattern.exec(rest);
    if (!m) return undefined;
    total += Number(m[1]) * (unitSeconds[m[2] ?? 's'] ?? 1);
    rest = rest.slice(m[0].length);
  }
  return Math.floor(total);
}

export function formatDurationSeconds(seconds: number): string {
  const parts: string[] = [];
  let rest = Math.floor(seconds);
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.length ? parts.join('') : '0s';
}
