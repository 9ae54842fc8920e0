/**
 * For crash-consistency tests only: when SIGIL_TEST_CRASH_AT names this point, the process kills
 * itself with SIGKILL right here, as a power cut or an OOM kill would, so that tests can check
 * that each step between two writes recovers by itself. Unset, it costs one comparison.
 */
export function crashPoint(name: string): void {
  if (process.env.SIGIL_TEST_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}
