// An interpolation buffer: render other players a little in the past, between
// two authoritative states, so they move smoothly whatever the network jitter.

import type { TickSchedule } from "./clock.js";

export interface Frame<S> {
  tick: number;
  state: S;
}

export interface Sample<S> {
  /** The frame at or before the render time. */
  from: Frame<S>;
  /** The frame after it (the same as `from` when the buffer has run dry). */
  to: Frame<S>;
  /** Where the render time sits between them, 0 to 1. */
  t: number;
  /** The render tick (fractional) that was sampled. */
  renderTick: number;
}

/**
 * Holds recent states by tick and samples them at `server time - delay`.
 * A delay of two or three tick intervals (100-150 ms at 20 Hz) hides the
 * jitter of most networks; the game chooses it.
 *
 * ```ts
 * const buf = new InterpolationBuffer<ArenaState>(conn.schedule, { delayMs: 100 });
 * conn.on("state", ({ tick }) => buf.push(tick, mirror.state()));
 * const s = buf.sample(conn.clock.serverNowUs()); // lerp s.from and s.to by s.t
 * ```
 */
export class InterpolationBuffer<S> {
  private frames: Frame<S>[] = [];
  delayMs: number;
  private readonly capacity: number;

  constructor(
    private readonly schedule: TickSchedule,
    options: { delayMs: number; capacity?: number },
  ) {
    this.delayMs = options.delayMs;
    this.capacity = options.capacity ?? 64;
  }

  /** Adds the state at a tick. Ticks must rise; an older or repeated tick replaces nothing and is ignored. */
  push(tick: number, state: S): void {
    const last = this.frames[this.frames.length - 1];
    if (last && tick <= last.tick) return;
    this.frames.push({ tick, state });
    if (this.frames.length > this.capacity) this.frames.shift();
  }

  /** Drops every frame (after a resync to a distant tick, or a new room). */
  clear(): void {
    this.frames = [];
  }

  get length(): number {
    return this.frames.length;
  }

  /**
   * The two frames around `serverTimeUs - delay`, and how far between them.
   * Before the first frame it returns undefined; past the newest frame it
   * holds the newest (t = 0) rather than extrapolating. Frames older than the
   * one before the render time are dropped.
   */
  sample(serverTimeUs: number): Sample<S> | undefined {
    const renderTick = this.schedule.tickAt(serverTimeUs - this.delayMs * 1000);
    const f = this.frames;
    if (f.length === 0) return undefined;
    let i = 0;
    while (i + 1 < f.length && f[i + 1]!.tick <= renderTick) i++;
    if (i > 0) {
      f.splice(0, i);
      i = 0;
    }
    const from = f[0]!;
    const to = f[1] ?? from;
    if (to === from || renderTick <= from.tick) return { from, to: from, t: 0, renderTick };
    const t = Math.min(1, (renderTick - from.tick) / (to.tick - from.tick));
    return { from, to, t, renderTick };
  }
}

/** Linear interpolation. */
export function lerp(a: number, b: number, t: number): number {
  return a + (b - a) * t;
}

/**
 * Interpolates an ANGLE field of `bits` bits (0 to 2^bits - 1 steps of a
 * turn, the field's `bits` in the schema) along the short way round.
 */
export function lerpAngle(a: number, b: number, t: number, bits: number): number {
  const turn = 2 ** bits, half = turn / 2;
  let d = (b - a) % turn;
  if (d > half) d -= turn;
  if (d < -half) d += turn;
  return (a + d * t + turn) % turn;
}
