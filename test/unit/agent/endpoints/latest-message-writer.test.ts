import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LatestMessageWriter, type MessageSink } from '../../../../src/agent/endpoints/latest-message-writer.js';

/** A stream whose writes complete only when the test says so. */
class HeldSink implements MessageSink<string> {
  readonly written: string[] = [];
  private readonly pending: ((err?: Error | null) => void)[] = [];

  write(message: string, done: (err?: Error | null) => void): boolean {
    this.written.push(message);
    this.pending.push(done);
    return true;
  }

  complete(err?: Error): void {
    this.pending.shift()?.(err);
  }
}

test('one message on its way at a time; of those that came meanwhile only the newest is written, once the stream took the previous one', () => {
  const sink = new HeldSink();
  const writer = new LatestMessageWriter(sink);
  writer.write('v1');
  writer.write('v2');
  writer.write('v3');
  assert.deepEqual(sink.written, ['v1']);
  assert.equal(writer.backlogged, true);
  sink.complete();
  assert.deepEqual(sink.written, ['v1', 'v3'], 'v2 was replaced by v3 while it waited');
  assert.equal(writer.backlogged, false);
  sink.complete();
  writer.write('v4');
  assert.deepEqual(sink.written, ['v1', 'v3', 'v4'], 'nothing on its way: written at once');
});

test('once the stream failed a write (cancelled, ended), nothing more is written to it', () => {
  const sink = new HeldSink();
  const writer = new LatestMessageWriter(sink);
  writer.write('v1');
  writer.write('v2');
  sink.complete(new Error('Cancelled'));
  writer.write('v3');
  assert.deepEqual(sink.written, ['v1']);
});
