// The server clock, estimated from pings.

/** This machine's clock in Unix microseconds, with sub-millisecond resolution where the platform has it. */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

interface Sample {
  rttUs: number;
  offsetUs: number;
}

/**
 * Estimates the server's clock from Ping/Pong round trips: offset is about
 * `server_time_us + rtt/2 - now` (PROTOCOL.md, "Ping, clock and latency").
 * Of the last `window` samples it trusts the one with the shortest round
 * trip, whose offset error is bounded by the smallest rtt/2.
 */
export class ServerClock {
  private samples: Sample[] = [];
  private best: Sample | undefined;

  constructor(
    private readonly window = 8,
    private readonly now: () => number = nowUs,
  ) {}

  /** Records a pong. Times are microseconds; `receivedUs` defaults to now. */
  addSample(clientTimeUs: number, serverTimeUs: number, receivedUs = this.now()): void {
    const rttUs = Math.max(0, receivedUs - clientTimeUs);
    const s = { rttUs, offsetUs: serverTimeUs + rttUs / 2 - receivedUs };
    this.samples.push(s);
    if (this.samples.length > this.window) this.samples.shift();
    this.best = this.samples.reduce((a, b) => (b.rttUs < a.rttUs ? b : a));
  }

  /** Seeds the offset from a Welcome's server time when no pong has come yet (its error is the one-way delay). */
  seed(serverTimeUs: number, receivedUs = this.now()): void {
    if (!this.best) this.best = { rttUs: Number.POSITIVE_INFINITY, offsetUs: serverTimeUs - receivedUs };
  }

  /** True once a pong has been recorded. */
  get measured(): boolean {
    return this.samples.length > 0;
  }

  /** Server clock minus this clock, microseconds (0 before any sample). */
  get offsetUs(): number {
    return this.best?.offsetUs ?? 0;
  }

  /** The last round trip in milliseconds (NaN before any pong). */
  get rttMs(): number {
    const last = this.samples[this.samples.length - 1];
    return last ? last.rttUs / 1000 : Number.NaN;
  }

  /** The shortest round trip of the window, milliseconds (NaN before any pong). */
  get minRttMs(): number {
    return this.measured && this.best ? this.best.rttUs / 1000 : Number.NaN;
  }

  /** The server's clock now, as estimated, in Unix microseconds. */
  serverNowUs(): number {
    return this.now() + this.offsetUs;
  }
}

/** The room's tick schedule from the Welcome: tick T is scheduled at tick0 + T * 1e6 / tickRate. */
export class TickSchedule {
  constructor(
    readonly tick0UnixUs: number,
    readonly tickRate: number,
  ) {}

  /** When tick T is scheduled, server Unix microseconds. */
  timeOf(tick: number): number {
    return this.tick0UnixUs + (tick * 1e6) / this.tickRate;
  }

  /** The (fractional) tick scheduled at a server time. */
  tickAt(serverTimeUs: number): number {
    return ((serverTimeUs - this.tick0UnixUs) * this.tickRate) / 1e6;
  }
}
