import { createLogger, type Logger } from '../../src/common/logger.js';

/** A real logger whose JSON lines land in `records`. */
export function capturingLogger(): { logger: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const sink = { write: (line: string) => records.push(JSON.parse(line) as Record<string, unknown>) };
  return { logger: createLogger('debug', sink as unknown as NodeJS.WritableStream), records };
}
