// A consumer signalled before it has installed its handler dies (SIGHUP and SIGUSR2 terminate by
// default): HAProxy did, in the proxies test, when its SVID rotated during its start. The watcher
// waits until the kernel says the process catches the signal.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { catchesSignal, signalWhenHandled } from '../../../src/cli/commands/watch/consumer-process.js';

describe('sigil api watch: signalling a consumer', () => {
  it('reads from /proc whether a process catches a signal', async () => {
    const child = spawn(process.execPath, ['-e', "process.on('SIGHUP', () => undefined); setTimeout(() => undefined, 10_000)"], { stdio: 'ignore' });
    try {
      const deadline = Date.now() + 5_000;
      while (!catchesSignal(child.pid!, 'SIGHUP') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.equal(catchesSignal(child.pid!, 'SIGHUP'), true);
      assert.equal(catchesSignal(child.pid!, 'SIGUSR2'), false);
      assert.equal(catchesSignal(2 ** 22 + 1, 'SIGHUP'), undefined, 'no such process: /proc cannot tell');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('waits for a starting consumer to handle the signal, instead of ending it', async () => {
    // Installs its SIGUSR2 handler only after 300 ms, and exits 0 when it gets the signal.
    const child = spawn(process.execPath, ['-e', "setTimeout(() => process.on('SIGUSR2', () => process.exit(0)), 300); setTimeout(() => process.exit(3), 10_000)"], { stdio: 'ignore' });
    const exited = once(child, 'exit');
    const said = await signalWhenHandled(child.pid!, 'SIGUSR2');
    assert.equal(said, `signalled: SIGUSR2 to pid ${child.pid}`);
    assert.deepEqual(await exited, [0, null], 'it reloaded (exit 0), it was not killed by the signal');
  });

  it('does not send a signal that the process never handles, and says so', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => undefined, 10_000)'], { stdio: 'ignore' });
    try {
      assert.equal(await signalWhenHandled(child.pid!, 'SIGUSR2', 200), `not signalled: pid ${child.pid} does not handle SIGUSR2 (it would end it)`);
      assert.equal(child.exitCode, null);
      assert.equal(child.signalCode, null);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
