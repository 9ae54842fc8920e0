import { parseDurationSeconds } from '../common/duration.js';
import { UsageError } from './errors.js';

type RawValue = string | boolean | (string | boolean)[] | undefined;

/** Typed access to parsed flags; a bad value is a usage error that names the flag. */
export class FlagValues {
  constructor(
    private readonly values: Record<string, RawValue>,
    readonly commandPath: string,
  ) {}

  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  strings(name: string): string[] {
    const value = this.values[name];
    if (Array.isArray(value)) return value.filter((v): v is string => typeof v === 'string');
    return typeof value === 'string' ? [value] : [];
  }

  boolean(name: string): boolean {
    return this.values[name] === true;
  }

  has(name: string): boolean {
    const value = this.values[name];
    return value !== undefined && !(Array.isArray(value) && value.length === 0);
  }

  /** A duration flag ("90s", "15m", "1h", "7d" or seconds) in whole seconds. */
  seconds(name: string): number | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    const seconds = parseDurationSeconds(value);
    if (seconds === undefined) throw this.invalid(name, value, 'is not a duration (use e.g. 90s, 15m, 1h, 7d, or a number of seconds)');
    return seconds;
  }

  invalid(name: string, value: string, why: string): UsageError {
    return new UsageError(`invalid value ${JSON.stringify(value)} for flag --${name}: ${why}`, this.commandPath);
  }
}
