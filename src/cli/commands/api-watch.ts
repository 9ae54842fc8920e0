import { leaf } from '../command.js';
import { CommandFailure, UsageError } from '../errors.js';
import { ensureDirectory } from '../files.js';
import type { FlagValues } from '../flag-values.js';
import { printText } from '../output.js';
import { stopSignal } from '../stop-signal.js';
import { socketFlag, timeoutFlag, workloadClientFromFlags } from './api-socket.js';
import { ConfigError } from '../../common/config-file.js';
import { loadWatchConfig, watchSettings, type WatchSettings } from './watch/watch-config.js';

const defaultOnceTimeoutSeconds = 30;

function settingsFromFlags(flags: FlagValues, cmdArgs: string[]): WatchSettings {
  const configPath = flags.string('config');
  try {
    const file = configPath === undefined ? {} : loadWatchConfig(configPath);
    return watchSettings(
      {
        socket: flags.string('socket'),
        write: flags.string('write'),
        svidFile: flags.string('svid-file'),
        keyFile: flags.string('key-file'),
        bundleFile: flags.string('bundle-file'),
        combinedFile: flags.string('combined-file'),
        crlFile: flags.string('crl-file'),
        certMode: flags.string('cert-mode'),
        keyMode: flags.string('key-mode'),
        federated: flags.boolean('federated'),
        spiffeId: flags.string('spiffe-id'),
        hint: flags.string('hint'),
        exec: flags.string('exec'),
        cmd: flags.string('cmd'),
        cmdArgs,
        renewSignal: flags.string('renew-signal'),
        pidFile: flags.string('pid-file'),
        once: flags.boolean('once'),
        healthAddr: flags.string('health-addr'),
      },
      file,
    );
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (err.message.startsWith('invalid value')) throw new UsageError(err.message, flags.commandPath);
    throw new CommandFailure(err.message);
  }
}

export const apiWatchCommand = leaf({
  name: 'watch',
  summary: 'Keep SVID files fresh for software that reads files (nginx, HAProxy, databases) and reload it on change, like spiffe-helper',
  flags: {
    socket: socketFlag,
    config: { type: 'string', valueName: 'FILE', description: 'YAML settings with spiffe-helper option names (cert_dir, svid_file_name, cmd, renew_signal, jwt_svids, ...; docs/watch.md); flags override it' },
    write: { type: 'string', valueName: 'DIR', description: 'keep svid.pem, svid.key (mode 0600) and bundle.pem in DIR, all files of an update switched at once (cert_dir)' },
    'svid-file': { type: 'string', valueName: 'NAME', description: 'certificate chain file name (default svid.pem; svid_file_name)' },
    'key-file': { type: 'string', valueName: 'NAME', description: 'private key file name (default svid.key; svid_key_file_name)' },
    'bundle-file': { type: 'string', valueName: 'NAME', description: 'trust bundle file name (default bundle.pem; svid_bundle_file_name)' },
    'combined-file': { type: 'string', valueName: 'NAME', description: 'also write chain + key in one file, as HAProxy crt wants (svid_combined_file_name)' },
    'crl-file': { type: 'string', valueName: 'NAME', description: 'also write the CRLs from the agent, for nginx ssl_crl or HAProxy crl-file (crl_file_name)' },
    federated: { type: 'boolean', description: 'append the federated trust domains to the bundle file (include_federated_domains)' },
    'cert-mode': { type: 'string', valueName: 'MODE', description: 'mode of certificate, bundle and CRL files (default 0644; cert_file_mode)' },
    'key-mode': { type: 'string', valueName: 'MODE', description: 'mode of the key and combined files (default 0600; key_file_mode)' },
    'spiffe-id': { type: 'string', valueName: 'ID', description: 'write the SVID with this SPIFFE ID (default: the first one); until the agent has it, wait and say what it offers' },
    hint: { type: 'string', valueName: 'HINT', description: 'write the SVID with this hint (hint); with --spiffe-id both must match' },
    exec: { type: 'string', valueName: 'CMD', description: 'run CMD with /bin/sh -c after each change of the files (not when nothing written changed); updates during a run coalesce to the latest' },
    cmd: { type: 'string', valueName: 'PROGRAM', description: 'start PROGRAM (with the arguments after --) once the files are written, signal it on change, exit with its code when it exits (cmd, cmd_args)' },
    'renew-signal': { type: 'string', valueName: 'SIGNAL', description: 'signal for --cmd or --pid-file on change, e.g. SIGHUP (nginx), SIGUSR2 (haproxy -W) (renew_signal)' },
    'pid-file': { type: 'string', valueName: 'FILE', description: 'signal the process whose pid is in FILE on change (pid_file_name)' },
    once: { type: 'boolean', description: 'write the files once and exit 0, e.g. in an init container (daemon_mode: false)' },
    timeout: { ...timeoutFlag, description: `with --once: give up when no complete set could be written after this long (default: ${defaultOnceTimeoutSeconds}s)` },
    'health-addr': { type: 'string', valueName: 'HOST:PORT', description: 'serve /live and /ready (200 only while the files hold the latest SVID and it has not expired) (health_checks)' },
  },
  positionals: { usage: '[-- CMD_ARGS...]', max: Number.MAX_SAFE_INTEGER },
  async run(flags, positionals) {
    const settings = settingsFromFlags(flags, positionals);
    const onceTimeoutMs = (flags.seconds('timeout') ?? defaultOnceTimeoutSeconds) * 1000;
    // Loaded here: the file writer and process supervision are not needed by other commands.
    const [{ AtomicFileSet }, { HookRunner, SupervisedConsumer, signalPidFile }, { SvidFileWatcher }, { refreshJwtSvids }, { startWatchHealth }] = await Promise.all([
      import('./watch/atomic-file-set.js'),
      import('./watch/consumer-process.js'),
      import('./watch/svid-file-watcher.js'),
      import('./watch/jwt-svid-refresh.js'),
      import('./watch/watch-health.js'),
    ]);
    const client = await workloadClientFromFlags(flags, settings.socket);
    const say = (line: string) => process.stderr.write(`${line}\n`);
    if (settings.certDir !== undefined) ensureDirectory(settings.certDir);
    const hooks = new HookRunner(say);
    const consumer = settings.cmd === undefined ? undefined : new SupervisedConsumer(settings.cmd, settings.cmdArgs, say);
    const watcher = new SvidFileWatcher(settings, {
      files: settings.certDir === undefined ? undefined : new AtomicFileSet(settings.certDir),
      print: printText,
      say,
      async afterWrite(changed) {
        if (consumer && !consumer.started) consumer.start();
        else if (consumer && changed && settings.renewSignal) await consumer.signal(settings.renewSignal);
        if (!changed) return;
        if (settings.pidFileName !== undefined && settings.renewSignal) await signalPidFile(settings.pidFileName, settings.renewSignal, say);
        if (settings.exec !== undefined) await hooks.run(settings.exec);
      },
    });
    const health = settings.health ? await startWatchHealth(settings.health, () => watcher.readiness()) : undefined;
    if (health) say(`watch health: http://${health.address}${settings.health?.readinessPath}`);

    return new Promise<number>((resolve) => {
      let finished = false;
      const stops: (() => void)[] = [];
      const finish = (code: number) => {
        if (finished) return;
        finished = true;
        signal.dispose();
        for (const stop of stops) stop();
        client.close();
        // A hook or consumer that runs is stopped (its whole process group), then the watcher exits.
        void Promise.all([watcher.stop(), hooks.stop(), consumer?.stop(), health?.close()]).then(() => resolve(code));
      };
      const signal = stopSignal();
      void signal.received.then(() => finish(0));
      void consumer?.exited.then((code) => finish(code));
      if (settings.once) {
        const timer = setTimeout(() => {
          say(`--once: no complete set of files after ${onceTimeoutMs / 1000}s: ${watcher.readiness().reason}`);
          finish(1);
        }, onceTimeoutMs);
        stops.push(() => clearTimeout(timer));
        void watcher.complete.then(() => finish(0));
      }
      stops.push(
        client.watchX509Svids(
          (set) => watcher.onX509(set),
          (err, retrying) => {
            say(`watch error: ${err.message}${retrying ? ' (retrying)' : ''}`);
            if (!retrying) finish(1);
          },
        ),
      );
      if (settings.jwtSvids.length > 0) {
        stops.push(refreshJwtSvids(client, settings.jwtSvids, settings, (fileName, token) => watcher.onJwt(fileName, token), say));
      }
    });
  },
});

