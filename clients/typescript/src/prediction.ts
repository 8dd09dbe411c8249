// Client-side prediction and reconciliation, for any game.

/** A game's step function: the state after applying one input. Must not mutate `state`. */
export type StepFn<S, I> = (state: S, input: I) => S;

export interface PendingInput<I> {
  seq: number;
  input: I;
}

/**
 * Keeps the inputs the server has not yet acknowledged and re-applies them
 * on each authoritative state, so the local player sees its own inputs at
 * once while the server stays in charge (PROTOCOL.md, "Inputs, acks and
 * prediction").
 *
 * ```ts
 * const predictor = new Predictor(step);
 * const seq = conn.sendInput(input); predictor.push(seq, input);
 * conn.on("state", () => render(predictor.reconcile(authoritative(), conn.lastAck)));
 * ```
 */
export class Predictor<S, I> {
  private pending: PendingInput<I>[] = [];
  private predicted: S | undefined;

  /** @param maxPending bound on unacknowledged inputs kept; the oldest go first. */
  constructor(
    private readonly step: StepFn<S, I>,
    private readonly maxPending = 256,
  ) {}

  /** Records an input sent with `seq`; applies it to the current prediction at once. */
  push(seq: number, input: I): S | undefined {
    this.pending.push({ seq, input });
    if (this.pending.length > this.maxPending) this.pending.shift();
    if (this.predicted !== undefined) this.predicted = this.step(this.predicted, input);
    return this.predicted;
  }

  /**
   * Takes a new authoritative state in which every input up to `ackedSeq`
   * has been applied: drops those inputs, re-applies the rest on top of it
   * through the step function, and returns the predicted state.
   */
  reconcile(authoritative: S, ackedSeq: number): S {
    this.ack(ackedSeq);
    let s = authoritative;
    for (const p of this.pending) s = this.step(s, p.input);
    this.predicted = s;
    return s;
  }

  /** Drops the inputs up to and including `ackedSeq`. */
  ack(ackedSeq: number): void {
    let n = 0;
    while (n < this.pending.length && this.pending[n]!.seq <= ackedSeq) n++;
    if (n > 0) this.pending.splice(0, n);
  }

  /** The inputs not yet acknowledged, oldest first. */
  get unacked(): readonly PendingInput<I>[] {
    return this.pending;
  }

  /** The latest prediction (undefined before the first reconcile). */
  get state(): S | undefined {
    return this.predicted;
  }

  /** Forgets every pending input and the prediction (e.g. after joining as a new player). */
  reset(): void {
    this.pending = [];
    this.predicted = undefined;
  }
}
