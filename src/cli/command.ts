import type { FlagValues } from './flag-values.js';

export interface FlagSpec {
  type: 'string' | 'boolean';
  /** May be given more than once; the values are collected in order. */
  multiple?: boolean;
  /** What the value is, shown in help: `--spiffe-id ID`. */
  valueName?: string;
  description: string;
  required?: boolean;
  /** The only accepted values. */
  choices?: readonly string[];
  /** SPIRE's camelCase spelling (`spiffeID`), accepted as `-spiffeID` or `--spiffeID`. */
  spireName?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export interface LeafCommand {
  kind: 'leaf';
  name: string;
  summary: string;
  flags: FlagSpecs;
  /** Help text for positionals, e.g. "[ENTRY_ID]"; without it the command takes none. */
  positionals?: { usage: string; max: number };
  /** Resolves to the exit code. */
  run(flags: FlagValues, positionals: string[]): Promise<number>;
}

export interface CommandGroup {
  kind: 'group';
  name: string;
  summary: string;
  commands: Command[];
}

export type Command = LeafCommand | CommandGroup;

export const leaf = (command: Omit<LeafCommand, 'kind'>): LeafCommand => ({ kind: 'leaf', ...command });
export const group = (name: string, summary: string, commands: Command[]): CommandGroup => ({ kind: 'group', name, summary, commands });
