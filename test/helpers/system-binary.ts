import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

/**
 * The absolute path of a program from a Debian package, looked up in PATH and the sbin folders
 * (a non-login shell's PATH may lack /usr/sbin, where nginx and haproxy are). A missing program
 * fails the test, naming the package that `.ci/run` installs: these tests are never skipped.
 */
export function systemBinary(name: string, debianPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // not here
    }
  }
  throw new Error(`${name} is not installed (looked in ${dirs.join(', ')}): .ci/run installs it (apt-get install ${debianPackage})`);
}
