import type { ProtoValue } from '../../../common/grpc/workload-api-types.js';
import type { EnvoyNode } from './envoy-messages.js';

export const disableValidationMetadataKey = 'disable_spiffe_cert_validation';

/** Go's strconv.ParseBool: the only strings SPIRE accepts in node metadata. */
export function parseGoBool(text: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  return undefined;
}

function metadataBool(value: ProtoValue): boolean | undefined {
  if (value.kind === 'boolValue') return value.boolValue;
  if (value.kind === 'stringValue') return parseGoBool(value.stringValue ?? '');
  return undefined;
}

/** SDS-09: the configured default, overridden by node metadata that is a bool or a Go bool string. */
export function spiffeValidationDisabled(node: EnvoyNode | null, configured: boolean): boolean {
  const value = node?.metadata?.fields?.[disableValidationMetadataKey];
  const override = value ? metadataBool(value) : undefined;
  return override ?? configured;
}

/** SDS-08: Envoy ≥ 1.18 has the SPIFFE validator; an Envoy that sends no build version is assumed to. */
export function envoySupportsSpiffeValidator(node: EnvoyNode | null): boolean {
  const build = node?.user_agent_build_version;
  if (!build) return true;
  const major = build.version?.major_number ?? 0;
  const minor = build.version?.minor_number ?? 0;
  return (major === 1 && minor > 17) || major > 1;
}

export function useSpiffeValidator(node: EnvoyNode | null, disabledByConfig: boolean): boolean {
  return !spiffeValidationDisabled(node, disabledByConfig) && envoySupportsSpiffeValidator(node);
}
