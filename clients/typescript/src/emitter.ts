// A small typed event emitter whose `on` returns the unsubscribe function.

export type Listener<T> = (event: T) => void;

export class Emitter<Events extends object> {
  private listeners: { [K in keyof Events]?: Set<Listener<Events[K]>> } = {};

  /** Calls `fn` on every `type` event until the returned function is called. */
  on<K extends keyof Events>(type: K, fn: Listener<Events[K]>): () => void {
    const set = (this.listeners[type] ??= new Set());
    set.add(fn);
    return () => {
      set.delete(fn);
    };
  }

  /** Calls `fn` on the next `type` event only. */
  once<K extends keyof Events>(type: K, fn: Listener<Events[K]>): () => void {
    const off = this.on(type, (e) => {
      off();
      fn(e);
    });
    return off;
  }

  /** True when anything listens to any event. */
  protected listening(): boolean {
    for (const k in this.listeners) if ((this.listeners[k as keyof Events]?.size ?? 0) > 0) return true;
    return false;
  }

  protected emit<K extends keyof Events>(type: K, event: Events[K]): void {
    const set = this.listeners[type];
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(event);
      } catch (err) {
        // A listener's bug must not break the connection's bookkeeping.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }
}
