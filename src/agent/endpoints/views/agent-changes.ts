import type { EventEmitter } from 'node:events';

/** The agent's events after which what a caller may be served can have changed. */
export function agentChangeEvents(deps: { node: EventEmitter; sync: EventEmitter; svids: EventEmitter }): [EventEmitter, string][] {
  return [
    [deps.svids, 'updated'],
    [deps.sync, 'entries'],
    [deps.node, 'bundle'],
    [deps.node, 'trust'],
  ];
}
