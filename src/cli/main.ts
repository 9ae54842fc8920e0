#!/usr/bin/env node
import { errorMessage } from '../common/errors.js';
import { parseCommandArgs, wantsHelp } from './argv.js';
import type { Command } from './command.js';
import { sigilCommands } from './commands/index.js';
import { CommandFailure, UsageError, exitCodes } from './errors.js';
import { groupHelp, leafHelp } from './help.js';
import { sigilVersion } from './version.js';

/** Walk the command tree along the leading words of argv, then run the leaf with the rest. */
async function dispatch(argv: readonly string[]): Promise<number> {
  let command: Command = sigilCommands;
  let path = command.name;
  if (argv[0] === '--version' && argv.length === 1) {
    process.stdout.write(`sigil ${sigilVersion()}\n`);
    return exitCodes.ok;
  }
  let rest = argv[0] === 'help' ? [...argv.slice(1), '--help'] : [...argv];
  while (command.kind === 'group') {
    const word: string | undefined = rest[0];
    if (word === undefined || word.startsWith('-')) {
      if (wantsHelp(rest)) {
        process.stdout.write(groupHelp(command, path));
        return exitCodes.ok;
      }
      throw new UsageError(word === undefined ? `missing command: ${command.commands.map((c) => c.name).join(', ')}` : `unknown flag ${word}`, path);
    }
    const next: Command | undefined = command.commands.find((c) => c.name === word);
    if (!next) throw new UsageError(`unknown command "${path} ${word}"`, path);
    command = next;
    path = `${path} ${word}`;
    rest = rest.slice(1);
  }
  if (wantsHelp(rest)) {
    process.stdout.write(leafHelp(command, path));
    return exitCodes.ok;
  }
  const { flags, positionals } = parseCommandArgs(rest, command, path);
  return command.run(flags, positionals);
}

async function main(argv: readonly string[]): Promise<number> {
  try {
    return await dispatch(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.commandPath}: ${err.message}\nRun "${err.commandPath} --help" for usage.\n`);
      return exitCodes.usage;
    }
    if (err instanceof CommandFailure) {
      process.stderr.write(`Error: ${err.message}\n`);
      return exitCodes.failure;
    }
    process.stderr.write(`Error: ${errorMessage(err)}\n`);
    return exitCodes.failure;
  }
}

process.exitCode = await main(process.argv.slice(2));
