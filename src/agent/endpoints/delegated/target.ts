import * as grpc from '@grpc/grpc-js';
import type { Selector } from '../../attestation/selector.js';
import type { ProtoSelector } from './messages.js';
import { RpcError, statusText } from './rpc-error.js';

/** Whose identities a delegate asks for: a workload described by selectors, or a process the agent attests. */
export type Target = { kind: 'selectors'; selectors: Selector[] } | { kind: 'pid'; pid: number };

/** SPIRE's `api.SelectorFromProto` checks, with its inner texts (DI-04). */
export function selectorProblem(s: ProtoSelector): string | undefined {
  if (s.type === '') return 'missing selector type';
  if (s.type.includes(':')) return "selector type contains ':'";
  if (s.value === '') return 'missing selector value';
  return undefined;
}

/**
 * DI-04: exactly one of non-empty `selectors` and non-zero `pid` (not a proto oneof, so checked
 * here); each selector needs a type without ':' and a value.
 */
export function parseTarget(request: { selectors: ProtoSelector[]; pid: number }): Target {
  const hasSelectors = request.selectors.length > 0;
  const hasPid = request.pid !== 0;
  if (hasSelectors === hasPid) throw new RpcError(grpc.status.INVALID_ARGUMENT, statusText.selectorsOrPid);
  if (hasPid) return { kind: 'pid', pid: request.pid };
  for (const s of request.selectors) {
    const problem = selectorProblem(s);
    if (problem) throw new RpcError(grpc.status.INVALID_ARGUMENT, statusText.badSelectors, problem);
  }
  return { kind: 'selectors', selectors: request.selectors.map((s) => ({ type: s.type, value: s.value })) };
}
