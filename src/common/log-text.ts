/** How log records are written: JSON lines, human-readable lines, or text on a terminal and JSON elsewhere. */
export type LogFormat = 'auto' | 'json' | 'text';
export const logFormats: readonly LogFormat[] = ['auto', 'json', 'text'];

interface MaybeTty {
  isTTY?: boolean;
}

export function resolveLogFormat(format: LogFormat, destination: MaybeTty): 'json' | 'text' {
  if (format !== 'auto') return format;
  return destination.isTTY ? 'text' : 'json';
}

const levelColors: Record<string, string> = { fatal: '35', error: '31', warn: '33', info: '32', debug: '36', trace: '90' };
/** Fields every record has, shown in the line's head rather than as key=value. */
const headFields = new Set(['level', 'time', 'msg', 'service']);

function fieldValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value !== null && typeof value === 'object' && typeof (value as { message?: unknown }).message === 'string') {
    return JSON.stringify((value as { message: string }).message);
  }
  return JSON.stringify(value) ?? String(value);
}

/**
 * One pino JSON record as a line a person reads: `14:19:04.535 INFO  sigil server listening
 * admin_addr=127.0.0.1:8081 ...`, with an error's stack below it. Redaction has already happened
 * in pino, so a censored field stays censored here.
 */
export function formatLogLine(json: string, color: boolean): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const time = typeof record.time === 'string' ? record.time.slice(11, 23) : '';
  const level = String(record.level ?? '');
  const label = level.toUpperCase().padEnd(5);
  const shownLevel = color && levelColors[level] ? `\u001b[${levelColors[level]}m${label}\u001b[0m` : label;
  const fields = Object.entries(record)
    .filter(([key, value]) => !headFields.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${fieldValue(value)}`);
  const stack = (record.err as { stack?: unknown } | undefined)?.stack;
  const stackLines = typeof stack === 'string' && (level === 'error' || level === 'fatal') ? `\n${stack.replace(/^/gm, '    ')}` : '';
  return `${[time, shownLevel, String(record.msg ?? ''), ...fields].filter(Boolean).join(' ')}${stackLines}\n`;
}

/** A pino destination that writes each record to `destination` as a text line. */
export function textLogDestination(destination: NodeJS.WritableStream, color: boolean): { write(chunk: string): boolean } {
  return {
    write(chunk: string): boolean {
      return destination.write(
        chunk
          .split('\n')
          .filter((line) => line !== '')
          .map((line) => formatLogLine(line, color))
          .join(''),
      );
    },
  };
}
