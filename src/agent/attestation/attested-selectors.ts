/**
 * Every selector the agent's workload attestors produce, by type, with the keys that begin their
 * values (`unix:uid:1000` is type `unix`, key `uid`). An entry with any other selector matches no
 * caller of a Sigil agent. Pure, so that the CLI can check entries without loading the agent.
 */
export const attestedSelectors: Readonly<Record<string, readonly string[]>> = {
  unix: ['uid', 'gid', 'user', 'group', 'path', 'sha256'],
  k8s: ['pod-uid'],
  container: ['id'],
};

/** `unix:uid`, `unix:gid`, ... as the README lists them. */
export function attestedSelectorNames(): string[] {
  return Object.entries(attestedSelectors).flatMap(([type, keys]) => keys.map((key) => `${type}:${key}`));
}

/** True when some Sigil agent can attest a selector of this type whose value starts with a known key. */
export function isAttestedSelector(type: string, value: string): boolean {
  const keys = Object.hasOwn(attestedSelectors, type) ? attestedSelectors[type] : undefined;
  const key = value.slice(0, value.indexOf(':'));
  return keys !== undefined && value.includes(':') && keys.includes(key);
}
