import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';

export type Logger = PinoLogger;
export type LogLevel = LevelWithSilent;
export const logLevels: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * The one logger: JSON lines on stderr (stdout stays for command output).
 * Anything that looks like a secret is censored even if a caller logs it by mistake.
 */
export function createLogger(level: LogLevel = 'info', destination: NodeJS.WritableStream = process.stderr): Logger {
  return pino(
    {
      level,
      base: { service: 'sigil' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['token', '*.token', 'secret', '*.secret', 'privateKey', '*.privateKey', 'private_key', '*.private_key', 'authorization', '*.authorization', 'req.headers.authorization'],
        censor: '[redacted]',
      },
    },
    destination as unknown as pino.DestinationStream,
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
