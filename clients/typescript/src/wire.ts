// The hot path of the wire: a Delta read straight into numbers.
//
// protobuf-es gives every uint64 as a bigint, and making the couple of
// hundred of them a frame carries (the values and masks of every changed
// field) is most of what decoding a delta costs. A ServerFrame that holds a
// Delta is read here instead, into a DeltaFrame whose numbers are plain
// numbers; every other frame, and a Delta for a mirror without this path, is
// decoded by the generated code. Both give the same values (a test checks it
// field by field).

import { fromBinary } from "@bufbuild/protobuf";
import { MatchPhase, PlayerSchema, type Delta, type EntityColumns, type EntityUpdates, type FieldValues, type Player } from "./gen/tickwire/v1/tickwire_pb.js";
import { MirrorError } from "./mirror.js";

/**
 * Unsigned 64-bit varints as numbers: each the exact value when it is below
 * 2^53, or NaN with the exact value in `big` (by index) otherwise.
 */
export interface WireValues {
  readonly nums: readonly number[];
  readonly big?: ReadonlyMap<number, bigint> | undefined;
}

export interface UpdatesFrame {
  idGaps: number[];
  all: boolean;
  masks: WireValues;
  values: WireValues;
  texts: string[];
}

export interface ColumnsFrame {
  ids: number[];
  kinds: number[];
  values: WireValues;
  texts: string[];
}

export interface RowFrame {
  mask: WireValues;
  values: WireValues;
  texts: string[];
}

/** A Delta with its numbers as numbers (PROTOCOL.md, "Applying a delta"). */
export interface DeltaFrame {
  tick: number;
  baseTick: number;
  removed: number[];
  updates: UpdatesFrame | undefined;
  created: ColumnsFrame | undefined;
  playersJoined: Player[];
  playersLeft: number[];
  scorePlayers: number[];
  /** Exact scores; NaN for one past 2^53 (refused when applied). */
  scores: number[];
  ackPlayers: number[];
  ackSeqs: number[];
  phase: MatchPhase;
  endTick: number;
  checksum: number;
  playerUpdates: UpdatesFrame | undefined;
  room: RowFrame | undefined;
}

const TWO32 = 4294967296;

/** A minimal protobuf reader over one message's bytes. */
class Reader {
  pos: number;
  /** The exact value of the last varint read as NaN. */
  big = 0n;

  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  /** A varint: exact below 2^53; NaN (its value in `big`) at or above. */
  varint(): number {
    const buf = this.buf;
    let b = buf[this.pos++]!;
    if (b < 0x80) return this.pos <= this.end ? b : this.done(b, 0);
    // The low word: 7 bits a byte, then 4 bits of the fifth byte.
    let lo = b & 0x7f;
    for (let shift = 7; shift < 28; shift += 7) {
      b = buf[this.pos++]!;
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) return this.done(lo, 0);
    }
    b = buf[this.pos++]!;
    lo = (lo | ((b & 0x0f) << 28)) >>> 0;
    // The high word: the fifth byte's other 3 bits, then 7 bits a byte.
    let hi = (b & 0x7f) >> 4;
    for (let shift = 3; b >= 0x80; shift += 7) {
      if (shift > 31) throw new MirrorError("malformed", "varint longer than 10 bytes");
      b = buf[this.pos++]!;
      hi |= (b & 0x7f) << shift;
    }
    return this.done(lo, hi >>> 0);
  }

  private done(lo: number, hi: number): number {
    if (this.pos > this.end) throw new MirrorError("malformed", "truncated varint");
    if (hi < 0x200000) return hi * TWO32 + lo;
    this.big = (BigInt(hi) << 32n) | BigInt(lo);
    return NaN;
  }

  /** A varint that must fit in 32 bits (uint32, enums, bools): its low 32 bits. */
  u32(): number {
    const v = this.varint();
    if (v <= 0xffffffff) return v;
    return Number(BigInt.asUintN(32, v === v ? BigInt(v) : this.big));
  }

  /** The end of a length-delimited field that starts here. */
  sub(): number {
    const n = this.varint();
    const end = this.pos + n;
    if (!(end <= this.end)) throw new MirrorError("malformed", "length past the end of the frame");
    return end;
  }

  /** Appends a repeated uint32, packed or not. */
  u32s(wire: number, out: number[]): void {
    if (wire === 2) {
      const end = this.sub();
      while (this.pos < end) out.push(this.u32());
      if (this.pos !== end) throw new MirrorError("malformed", "packed field overran its length");
    } else out.push(this.u32());
  }

  /** Appends a repeated uint64, packed or not. Hot path: every value of a delta. */
  u64s(wire: number, out: { nums: number[]; big?: Map<number, bigint> | undefined }): void {
    const nums = out.nums;
    const end = wire === 2 ? this.sub() : this.pos + 1; // one unpacked value: at least one byte
    while (this.pos < end) {
      const v = this.varint();
      if (v !== v) (out.big ??= new Map()).set(nums.length, this.big);
      nums.push(v);
      if (wire !== 2) return;
    }
    if (this.pos !== end) throw new MirrorError("malformed", "packed field overran its length");
  }

  string(): string {
    const end = this.sub();
    const s = decoder.decode(this.buf.subarray(this.pos, end));
    this.pos = end;
    return s;
  }

  skip(wire: number): void {
    switch (wire) {
      case 0:
        this.varint();
        break;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.sub();
        break;
      case 5:
        this.pos += 4;
        break;
      default:
        throw new MirrorError("malformed", `wire type ${wire} in a delta`);
    }
    if (this.pos > this.end) throw new MirrorError("malformed", "field past the end of the frame");
  }
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * The Delta of a ServerFrame whose body is a delta, read into numbers; or
 * undefined when the frame holds something else (decode it the usual way).
 * Throws MirrorError for a frame that is not valid protobuf.
 */
export function readDeltaFrame(buf: Uint8Array): DeltaFrame | undefined {
  // ServerFrame{delta = 2}: tag 0x12, the length, the Delta; nothing else.
  if (buf.length < 2 || buf[0] !== 0x12) return undefined;
  const r = new Reader(buf, 1, buf.length);
  const end = r.sub();
  if (end !== buf.length) return undefined;
  return readDelta(r, end);
}

function readDelta(r: Reader, end: number): DeltaFrame {
  const d: DeltaFrame = {
    tick: 0, baseTick: 0, removed: [], updates: undefined, created: undefined, playersJoined: [], playersLeft: [],
    scorePlayers: [], scores: [], ackPlayers: [], ackSeqs: [], phase: MatchPhase.UNSPECIFIED, endTick: 0, checksum: 0,
    playerUpdates: undefined, room: undefined,
  };
  while (r.pos < end) {
    const tag = r.u32();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1: d.tick = safe(r, "tick"); break;
      case 2: d.baseTick = safe(r, "base tick"); break;
      case 3: r.u32s(wire, d.removed); break;
      case 4: d.updates = readUpdates(r, r.sub()); break;
      case 5: d.created = readColumns(r, r.sub()); break;
      case 6: {
        const e = r.sub();
        d.playersJoined.push(fromBinary(PlayerSchema, r.buf.subarray(r.pos, e)));
        r.pos = e;
        break;
      }
      case 7: r.u32s(wire, d.playersLeft); break;
      case 8: r.u32s(wire, d.scorePlayers); break;
      case 9: {
        // sint64: zigzag-coded.
        const one = () => d.scores.push(unzigzag(r.varint(), r));
        if (wire === 2) {
          const e = r.sub();
          while (r.pos < e) one();
        } else one();
        break;
      }
      case 10: r.u32s(wire, d.ackPlayers); break;
      case 11: r.u32s(wire, d.ackSeqs); break;
      case 12: d.phase = r.u32() as MatchPhase; break;
      case 13: d.endTick = safe(r, "end tick"); break;
      case 14:
        if (wire !== 5) throw new MirrorError("malformed", "checksum is not a fixed32");
        d.checksum = (r.buf[r.pos]! | (r.buf[r.pos + 1]! << 8) | (r.buf[r.pos + 2]! << 16) | (r.buf[r.pos + 3]! << 24)) >>> 0;
        r.pos += 4;
        break;
      case 15: d.playerUpdates = readUpdates(r, r.sub()); break;
      case 16: d.room = readRow(r, r.sub()); break;
      default: r.skip(wire);
    }
  }
  if (r.pos !== end) throw new MirrorError("malformed", "delta overran its length");
  return d;
}

function readUpdates(r: Reader, end: number): UpdatesFrame {
  const u: UpdatesFrame = { idGaps: [], all: false, masks: { nums: [] }, values: { nums: [] }, texts: [] };
  while (r.pos < end) {
    const tag = r.u32();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1: r.u32s(wire, u.idGaps); break;
      case 2: u.all = r.varint() !== 0; break;
      case 3: r.u64s(wire, u.masks as { nums: number[] }); break;
      case 9: r.u64s(wire, u.values as { nums: number[] }); break;
      case 10: u.texts.push(r.string()); break;
      default: r.skip(wire);
    }
  }
  if (r.pos !== end) throw new MirrorError("malformed", "updates overran their length");
  return u;
}

function readColumns(r: Reader, end: number): ColumnsFrame {
  const c: ColumnsFrame = { ids: [], kinds: [], values: { nums: [] }, texts: [] };
  while (r.pos < end) {
    const tag = r.u32();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1: r.u32s(wire, c.ids); break;
      case 2: r.u32s(wire, c.kinds); break;
      case 7: r.u64s(wire, c.values as { nums: number[] }); break;
      case 8: c.texts.push(r.string()); break;
      default: r.skip(wire);
    }
  }
  if (r.pos !== end) throw new MirrorError("malformed", "columns overran their length");
  return c;
}

function readRow(r: Reader, end: number): RowFrame {
  const f: RowFrame = { mask: { nums: [] }, values: { nums: [] }, texts: [] };
  while (r.pos < end) {
    const tag = r.u32();
    const wire = tag & 7;
    switch (tag >>> 3) {
      case 1: {
        const m = { nums: [] as number[] } as { nums: number[]; big?: Map<number, bigint> };
        r.u64s(0, m);
        f.mask = m;
        break;
      }
      case 2: r.u64s(wire, f.values as { nums: number[] }); break;
      case 3: f.texts.push(r.string()); break;
      default: r.skip(wire);
    }
  }
  if (r.pos !== end) throw new MirrorError("malformed", "room overran its length");
  return f;
}

function safe(r: Reader, what: string): number {
  const v = r.varint();
  if (v !== v || v > Number.MAX_SAFE_INTEGER) throw new MirrorError("malformed", `${what} ${r.big} is outside the safe integer range of a JavaScript number`);
  return v;
}

function unzigzag(w: number, r: Reader): number {
  if (w !== w) {
    const v = (r.big >> 1n) ^ -(r.big & 1n);
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : NaN;
  }
  return w % 2 === 1 ? -(w + 1) / 2 : w / 2;
}

// --- the same from the generated code's Delta ---

/** Unsigned 64-bit values from the generated code as WireValues. */
export function wireValues(vs: readonly bigint[]): WireValues {
  const nums = new Array<number>(vs.length);
  let big: Map<number, bigint> | undefined;
  for (let i = 0; i < vs.length; i++) {
    const v = vs[i]!;
    const n = Number(v);
    if (n <= Number.MAX_SAFE_INTEGER) nums[i] = n;
    else {
      nums[i] = NaN;
      (big ??= new Map()).set(i, v);
    }
  }
  return big ? { nums, big } : { nums };
}

function updatesFrame(u: EntityUpdates | undefined): UpdatesFrame | undefined {
  return u && { idGaps: u.idGaps, all: u.all, masks: wireValues(u.masks), values: wireValues(u.values), texts: u.texts };
}

function columnsFrame(c: EntityColumns | undefined): ColumnsFrame | undefined {
  return c && { ids: c.ids, kinds: c.kinds, values: wireValues(c.values), texts: c.texts };
}

function rowFrame(f: FieldValues | undefined): RowFrame | undefined {
  return f && { mask: wireValues([f.mask]), values: wireValues(f.values), texts: f.texts };
}

/** The DeltaFrame of a Delta decoded by the generated code. */
export function deltaFrame(d: Delta): DeltaFrame {
  const num = (v: bigint, what: string) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new MirrorError("malformed", `${what} ${v} is outside the safe integer range of a JavaScript number`);
    return n;
  };
  return {
    tick: num(d.tick, "tick"), baseTick: num(d.baseTick, "base tick"), removed: d.removed,
    updates: updatesFrame(d.updates), created: columnsFrame(d.created), playersJoined: d.playersJoined, playersLeft: d.playersLeft,
    scorePlayers: d.scorePlayers, scores: d.scores.map((s) => { const n = Number(s); return Number.isSafeInteger(n) ? n : NaN; }),
    ackPlayers: d.ackPlayers, ackSeqs: d.ackSeqs, phase: d.phase, endTick: num(d.endTick, "end tick"), checksum: d.checksum,
    playerUpdates: updatesFrame(d.playerUpdates), room: rowFrame(d.room),
  };
}
