/** The agent's `sds:` config section (names as in SPIRE's agent config). */
export interface SdsSettings {
  /** Resource name of the caller's first identity's TLS certificate (SDS-03). */
  default_svid_name: string;
  /** Resource name of the own trust domain's validation context (SDS-05). */
  default_bundle_name: string;
  /** Resource name of one validation context with every trust domain (SDS-06). */
  default_all_bundles_name: string;
  /** Emit trusted_ca instead of the SPIFFE certificate validator, unless node metadata says otherwise (SDS-09). */
  disable_spiffe_cert_validation: boolean;
}

export const defaultSdsSettings: SdsSettings = {
  default_svid_name: 'default',
  default_bundle_name: 'ROOTCA',
  default_all_bundles_name: 'ALL',
  disable_spiffe_cert_validation: false,
};
