// The hardware's limit for the baselines: `openssl speed ecdsap256`, on one core or on every core
// (-multi), in the same run as the figure it is compared with.
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';

export interface EcdsaSpeed {
  signsPerSecond: number;
  verifiesPerSecond: number;
  processes: number;
}

/** P-256 signs and verifies per second, summed over `processes` openssl processes; NaN if openssl cannot tell. */
export function opensslEcdsaP256(processes = 1): EcdsaSpeed {
  try {
    const args = ['speed', '-seconds', '2', ...(processes > 1 ? ['-multi', String(processes)] : []), 'ecdsap256'];
    const out = execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const fields = out.split('\n').find((l) => /256 bits ecdsa \(nistp256\)/.test(l))?.trim().split(/\s+/) ?? [];
    return { signsPerSecond: Number(fields.at(-2)), verifiesPerSecond: Number(fields.at(-1)), processes };
  } catch {
    return { signsPerSecond: NaN, verifiesPerSecond: NaN, processes };
  }
}

/** SVIDs per second if each cost exactly one P-256 verify (the CSR) and one sign (the certificate), on every core. */
export function svidHardwareLimit(): { perSecond: number; speed: EcdsaSpeed } {
  const speed = opensslEcdsaP256(availableParallelism());
  return { perSecond: 1 / (1 / speed.signsPerSecond + 1 / speed.verifiesPerSecond), speed };
}
