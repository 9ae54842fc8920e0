import { spawn } from 'node:child_process';
import { leaf } from '../command.js';
import { printText } from '../output.js';
import { socketFlag, workloadClientFromFlags } from './api-socket.js';
import { rfc3339, writeSvidFiles } from './api-svid-files.js';
import type { X509SvidSet } from '../../workload/x509-response.js';
import { stopSignal } from '../stop-signal.js';

function updateLine(set: X509SvidSet): string {
  const svid = set.svids[0]!;
  const more = set.svids.length > 1 ? ` svids=${set.svids.length}` : '';
  return `update: spiffe_id=${svid.spiffeId} serial=${svid.serial} expires_at=${rfc3339(svid.notAfter)}${more}`;
}

/** Run `command` with /bin/sh and wait for it; a failure is reported, not fatal (the next update tries again). */
function runHook(command: string): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', (err) => {
      process.stderr.write(`--exec could not start: ${err.message}\n`);
      resolve();
    });
    child.once('exit', (code, signal) => {
      if (code !== 0) process.stderr.write(`--exec exited with ${signal ?? `code ${code}`}\n`);
      resolve();
    });
  });
}

export const apiWatchCommand = leaf({
  name: 'watch',
  summary: 'Watch the X509-SVIDs of this process; keep files fresh and run a command after each update (like spiffe-helper)',
  flags: {
    socket: socketFlag,
    write: { type: 'string', valueName: 'DIR', description: 'keep svid.pem, svid.key (mode 0600) and bundle.pem in DIR up to date, replaced atomically' },
    exec: { type: 'string', valueName: 'CMD', description: 'run CMD with /bin/sh -c after each update (after the files are written), e.g. to reload a proxy' },
  },
  async run(flags) {
    const client = await workloadClientFromFlags(flags);
    const dir = flags.string('write');
    const hook = flags.string('exec');

    // Updates are handled one at a time, in order, so files and hooks never overlap.
    let pending = Promise.resolve();
    const handle = async (set: X509SvidSet) => {
      printText(updateLine(set));
      try {
        if (dir !== undefined) await writeSvidFiles(dir, set.svids[0]!);
      } catch (err) {
        process.stderr.write(`cannot write the SVID files: ${(err as Error).message}\n`);
        return;
      }
      if (hook !== undefined) await runHook(hook);
    };

    return new Promise<number>((resolve) => {
      let finished = false;
      let stopWatch: () => void = () => undefined;
      const finish = (code: number) => {
        if (finished) return;
        finished = true;
        disposeSignals();
        stopWatch();
        client.close();
        void pending.then(() => resolve(code));
      };
      const signal = stopSignal();
      const disposeSignals = signal.dispose;
      void signal.received.then(() => finish(0));
      stopWatch = client.watchX509Svids(
        (set) => {
          pending = pending.then(() => handle(set));
        },
        (err, retrying) => {
          process.stderr.write(`watch error: ${err.message}${retrying ? ' (retrying)' : ''}\n`);
          if (!retrying) finish(1);
        },
      );
    });
  },
});
