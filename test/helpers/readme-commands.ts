import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './sigil-process.js';

/** The README's text from the heading `from` up to the heading `to` (both "## ..." lines). */
export function readmeSection(from: string, to: string): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf(`\n${from}\n`);
  const end = readme.indexOf(`\n${to}\n`, start);
  if (start === -1 || end === -1) throw new Error(`README has no section "${from}" followed by "${to}"`);
  return readme.slice(start, end);
}

/**
 * The commands of the ```console blocks in `text`: lines after "$ ", with "\"-continued lines
 * joined by one space, in order.
 */
export function consoleCommands(text: string): string[] {
  const commands: string[] = [];
  for (const block of text.matchAll(/```console\n([\s\S]*?)```/g)) {
    const lines = (block[1] ?? '').split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i] ?? '';
      if (!line.startsWith('$ ')) continue;
      let command = line.slice(2);
      while (command.endsWith('\\') && i + 1 < lines.length) command = `${command.slice(0, -1).trimEnd()} ${(lines[++i] ?? '').trim()}`;
      commands.push(command);
    }
  }
  return commands;
}

/** The webhook receiver that docs/webhooks.md gives (receiver.mjs), as it is printed there. */
export function documentedWebhookReceiver(): string {
  const doc = readFileSync(join(repoRoot, 'docs', 'webhooks.md'), 'utf8');
  const code = /```js\n(\/\/ receiver\.mjs[\s\S]*?)```/.exec(doc)?.[1];
  if (!code) throw new Error('docs/webhooks.md has no receiver.mjs block');
  return code;
}

/** The body of every ```<lang> fenced block in `text`, in order. */
export function fencedBlocks(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, 'g'))].map((m) => m[1] ?? '');
}
