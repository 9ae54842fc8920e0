import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';
import { resolveLogFormat, textLogDestination, type LogFormat } from './log-text.js';

export type Logger = PinoLogger;
export type LogLevel = LevelWithSilent;
export const logLevels: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/**
 * The one logger, on stderr (stdout stays for command output): JSON lines, or readable lines when
 * `format` says text, or says auto and stderr is a terminal. Anything that looks like a secret is
 * censored even if a caller logs it by mistake.
 */
export function createLogger(level: LogLevel = 'info', destination: NodeJS.WritableStream = process.stderr, format: LogFormat = 'auto'): Logger {
  const useColor = (destination as { isTTY?: boolean }).isTTY === true && !process.env.NO_COLOR;
  const output = resolveLogFormat(format, destination as { isTTY?: boolean }) === 'text' ? textLogDestination(destination, useColor) : destination;
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
    output as unknown as pino.DestinationStream,
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
