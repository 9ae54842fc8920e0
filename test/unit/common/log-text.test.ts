import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { formatLogLine, resolveLogFormat } from '../../../src/common/log-text.js';
import { createLogger } from '../../../src/common/logger.js';

function sink(isTTY: boolean): { stream: Writable & { isTTY?: boolean }; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  }) as Writable & { isTTY?: boolean };
  stream.isTTY = isTTY;
  return { stream, text: () => text };
}

test('auto is text on a terminal and JSON elsewhere; json and text are what they say', () => {
  assert.equal(resolveLogFormat('auto', { isTTY: true }), 'text');
  assert.equal(resolveLogFormat('auto', {}), 'json');
  assert.equal(resolveLogFormat('json', { isTTY: true }), 'json');
  assert.equal(resolveLogFormat('text', {}), 'text');
});

test('a record becomes one readable line: time, level, message, then key=value (quoted when needed)', () => {
  const line = formatLogLine(JSON.stringify({ level: 'info', time: '2026-11-26T12:20:36.609Z', service: 'sigil', msg: 'sigil server listening', admin_addr: '127.0.0.1:8081', note: 'two words', n: 3 }), false);
  assert.equal(line, '12:20:36.609 INFO  sigil server listening admin_addr=127.0.0.1:8081 note="two words" n=3\n');
});

test("an error record shows the error's message as a field and its stack below", () => {
  const line = formatLogLine(JSON.stringify({ level: 'error', time: '2026-11-26T12:20:36.609Z', msg: 'request failed', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x' } }), false);
  assert.equal(line, '12:20:36.609 ERROR request failed err="boom"\n    Error: boom\n        at x\n');
});

test('createLogger writes text to a terminal, still censoring secrets, and JSON when told so', () => {
  const tty = sink(true);
  createLogger('info', tty.stream, 'auto').info({ token: 'sat_secret', user: 'x' }, 'hello');
  assert.match(tty.text(), /^\d\d:\d\d:\d\d\.\d{3} .*INFO .* hello token=\[redacted\] user=x\n$/);
  assert.doesNotMatch(tty.text(), /sat_secret/);

  const json = sink(true);
  createLogger('info', json.stream, 'json').info('hello');
  assert.equal((JSON.parse(json.text()) as { msg: string }).msg, 'hello');

  const pipe = sink(false);
  createLogger('info', pipe.stream).info('hello');
  assert.equal((JSON.parse(pipe.text()) as { msg: string }).msg, 'hello');
});
