import type { Command, CommandGroup, FlagSpec, LeafCommand } from './command.js';
import { clientFlags, sharedFlagSpecs } from './client-flags.js';

function flagLabel(name: string, spec: FlagSpec): string {
  if (spec.type === 'boolean') return `--${name}`;
  return `--${name} ${spec.choices ? spec.choices.join('|') : (spec.valueName ?? 'VALUE')}`;
}

function flagNotes(spec: FlagSpec): string {
  const notes = [spec.required ? 'required' : '', spec.multiple ? 'repeatable' : '', spec.spireName ? `also -${spec.spireName}` : ''].filter(Boolean);
  return notes.length ? ` (${notes.join('; ')})` : '';
}

function table(rows: [string, string][]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`);
}

/** One line with a leaf's own flags, e.g. `--spiffe-id ID [--dns NAME]...`. */
function synopsis(command: LeafCommand): string {
  const parts = Object.entries(command.flags)
    .filter(([, spec]) => !sharedFlagSpecs.has(spec))
    .map(([name, spec]) => {
      const label = flagLabel(name, spec);
      const shown = spec.required ? label : `[${label}]`;
      return spec.multiple ? `${shown}...` : shown;
    });
  if (command.positionals) parts.push(command.positionals.usage);
  return parts.join(' ');
}

function leavesOf(command: Command, prefix: string): { path: string; leaf: LeafCommand }[] {
  const path = prefix ? `${prefix} ${command.name}` : command.name;
  return command.kind === 'leaf' ? [{ path, leaf: command }] : command.commands.flatMap((c) => leavesOf(c, path));
}

export function leafHelp(command: LeafCommand, commandPath: string): string {
  const flagRows = Object.entries(command.flags).map(([name, spec]): [string, string] => [flagLabel(name, spec), `${spec.description}${flagNotes(spec)}`]);
  flagRows.push(['-h, --help', 'show this help']);
  const positional = command.positionals ? ` ${command.positionals.usage}` : '';
  return [`Usage: ${commandPath} [flags]${positional}`, '', `${command.summary}.`, '', 'Flags:', ...table(flagRows), ''].join('\n');
}

export function groupHelp(command: CommandGroup, commandPath: string): string {
  const prefix = commandPath.split(' ').slice(0, -1).join(' ');
  const leaves = command.commands.flatMap((c) => leavesOf(c, prefix ? `${prefix} ${command.name}` : command.name));
  const width = Math.max(...leaves.map(({ path }) => path.length));
  const commandLines = leaves.flatMap(({ path, leaf }) => {
    const flags = synopsis(leaf);
    const line = `  ${path.padEnd(width)}  ${leaf.summary}`;
    return flags ? [line, `  ${' '.repeat(width)}    ${flags}`] : [line];
  });
  const callsServer = leaves.some(({ leaf }) => Object.values(leaf.flags).some((spec) => sharedFlagSpecs.has(spec)));
  const sharedRows = Object.entries(clientFlags).map(([name, spec]): [string, string] => [flagLabel(name, spec), spec.description]);
  const helpRows: [string, string][] = [['-h, --help', 'show the help of any command'], ...(prefix === '' ? [['--version', 'print the version of sigil'] as [string, string]] : [])];
  const flagsSection = callsServer
    ? ['Flags of every command that calls the server (healthcheck and bundle show need no token):', ...table([...sharedRows, ...helpRows])]
    : ['Flags:', ...table(helpRows)];
  return [
    `Usage: ${commandPath} <command> [flags]`,
    '',
    `${command.summary}.`,
    '',
    'Commands:',
    ...commandLines,
    '',
    ...flagsSection,
    '',
    `SPIRE's spellings of flags are accepted too (-spiffeID, -parentID, -x509SVIDTTL, -ttl, ...).`,
    `Run "${commandPath} <command> --help" for the flags of one command.`,
    '',
  ].join('\n');
}
