/**
 * A Node TLS context that always holds the source's current SVID and bundles: built once per
 * change (rotation, new bundle), not once per connection, and never from a lost or expired SVID.
 */
import { createSecureContext, type SecureContext } from 'node:tls';
import { tlsOptionsForSvid, type SvidTlsOptions } from '../tls-identity.js';
import type { X509Source } from './x509-source.js';

/** The source has no SVID to present (taken away, expired, or not there yet); the message says which. */
export class NoSvidError extends Error {
  override readonly name = 'NoSvidError';
}

export class SpiffeTlsContext {
  private built: { generation: number; options: SvidTlsOptions; context: SecureContext } | undefined;

  constructor(readonly source: X509Source) {}

  /** `cert`, `key` and `ca` of the current SVID, e.g. for `server.setSecureContext`; throws NoSvidError. */
  options(): SvidTlsOptions {
    return this.build().options;
  }

  /** For `tls.connect({ secureContext })` or `https.request({ secureContext })`; throws NoSvidError. */
  secureContext(): SecureContext {
    return this.build().context;
  }

  private build(): { options: SvidTlsOptions; context: SecureContext } {
    const svid = this.source.svid;
    if (!svid) throw new NoSvidError(`no X509-SVID to present: ${this.source.unavailableReason ?? 'unknown reason'}`);
    if (this.built?.generation !== this.source.generation) {
      const options = tlsOptionsForSvid(svid, this.source.bundles);
      this.built = { generation: this.source.generation, options, context: createSecureContext(options) };
    }
    return this.built;
  }
}
