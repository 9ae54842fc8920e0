import type { FlagValues } from './flag-values.js';

export type OutputFormat = 'pretty' | 'json';

export function outputFormat(flags: FlagValues): OutputFormat {
  return flags.string('output') === 'json' ? 'json' : 'pretty';
}

export function printText(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

export function printJson(value: unknown): void {
  printText(JSON.stringify(value, null, 2));
}

export type FieldValue = string | number | boolean | null | undefined;

/** Aligned "Label : value" lines, like spire-server's entry show; rows without a value are left out. */
export function formatFields(rows: readonly (readonly [string, FieldValue])[]): string {
  const shown = rows.filter((row): row is readonly [string, string | number | boolean] => row[1] !== undefined && row[1] !== null && row[1] !== '');
  const width = Math.max(0, ...shown.map(([label]) => label.length));
  return shown.map(([label, value]) => `${label.padEnd(width)} : ${String(value)}`).join('\n');
}

/** "Found 1 entry" / "Found 3 entries", then the blocks separated by blank lines. */
export function formatFound(blocks: readonly string[], singular: string, plural: string): string {
  const head = `Found ${blocks.length} ${blocks.length === 1 ? singular : plural}`;
  return [head, ...blocks].join('\n\n');
}
