import type { EventEmitter } from 'node:events';

/** How to compute one shared state; callers whose specs have the same key share one view. */
export interface ViewSpec<S> {
  /** Names everything `compute` depends on besides the agent's caches (e.g. the caller's selector set). */
  key: string;
  /** The state now. `previous` is the view's last state, to be returned as is when nothing in it changed. */
  compute(previous: S | undefined): S;
  /** Changes exactly when the state changes. */
  fingerprint(state: S): string;
}

export interface ViewWatch<S> {
  /**
   * The view's state now: computed again when a change came since, and on a watcher's first call.
   * Time passes without events (an SVID expires while the server is unreachable), so a new
   * stream does not start from a state computed before it came.
   */
  current(): S;
  /** Stop listening; the view goes once its last watcher has closed. */
  close(): void;
}

type Listener<S> = (state: S) => void;

class View<S> {
  private state: S | undefined;
  private computedAt = -1;
  /** Fingerprint of the state the listeners last heard of. */
  private announced: string | undefined;
  readonly listeners = new Set<Listener<S>>();

  constructor(private readonly spec: ViewSpec<S>) {}

  current(generation: number, fresh = false): S {
    let state = this.state;
    if (state === undefined || fresh || this.computedAt !== generation) {
      state = this.state = this.spec.compute(state);
      this.computedAt = generation;
      this.announced ??= this.spec.fingerprint(state);
    }
    return state;
  }

  /** Tell the listeners, if the state changed since they last heard. */
  refresh(generation: number): void {
    const state = this.current(generation);
    const fingerprint = this.spec.fingerprint(state);
    if (fingerprint === this.announced) return;
    this.announced = fingerprint;
    for (const listener of [...this.listeners]) listener(state);
  }
}

/**
 * States shared by the streams of callers that would all compute the same thing (the same
 * attested selector set, for the same RPC). On a change each view is computed once, not once per
 * stream, and its streams hear of it only when its fingerprint moved. The change events of one
 * tick (a revocation brings the trust state, the dropped SVID, ...) are handled together once
 * they all ran. Listens to `sources` only while some view exists.
 */
export class IdentityViews {
  private readonly views = new Map<string, View<unknown>>();
  /** Moves on every change event: a view computed at an older generation may be stale. */
  private generation = 0;
  private refreshQueued = false;

  constructor(private readonly sources: readonly (readonly [EventEmitter, string])[]) {}

  /** Number of live views (one per distinct key with an open watcher). */
  get size(): number {
    return this.views.size;
  }

  watch<S>(spec: ViewSpec<S>, listener: Listener<S>): ViewWatch<S> {
    let view = this.views.get(spec.key) as View<S> | undefined;
    if (!view) {
      if (this.views.size === 0) for (const [emitter, event] of this.sources) emitter.on(event, this.changed);
      view = new View(spec);
      this.views.set(spec.key, view as View<unknown>);
    }
    const watched = view;
    watched.listeners.add(listener);
    let open = true;
    let started = false;
    return {
      current: () => {
        const fresh = !started;
        started = true;
        return watched.current(this.generation, fresh);
      },
      close: () => {
        if (!open) return;
        open = false;
        watched.listeners.delete(listener);
        if (watched.listeners.size > 0 || this.views.get(spec.key) !== watched) return;
        this.views.delete(spec.key);
        if (this.views.size === 0) for (const [emitter, event] of this.sources) emitter.off(event, this.changed);
      },
    };
  }

  private readonly changed = (): void => {
    this.generation++;
    if (this.refreshQueued) return;
    this.refreshQueued = true;
    setImmediate(this.refreshAll);
  };

  private readonly refreshAll = (): void => {
    this.refreshQueued = false;
    for (const view of this.views.values()) view.refresh(this.generation);
  };
}
