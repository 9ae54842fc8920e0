/**
 * Listen for SIGINT/SIGTERM from before a long-running command starts, so that a signal during startup still
 * ends in a clean close. After the first signal the handlers are gone: a second one kills at once.
 */
export function stopSignal(): { received: Promise<NodeJS.Signals>; dispose(): void } {
  let stop: (signal: NodeJS.Signals) => void = () => undefined;
  const received = new Promise<NodeJS.Signals>((resolveSignal) => {
    stop = (signal) => {
      dispose();
      resolveSignal(signal);
    };
  });
  const dispose = () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return { received, dispose };
}
