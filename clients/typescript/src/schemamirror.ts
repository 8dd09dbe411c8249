// The generic mirror: any game's state, decoded by the schema from the
// room's Welcome, applied as PROTOCOL.md "Applying a delta" says and checked
// with its checksum after every frame.

import type { Delta, Player as PlayerProto, Snapshot, Welcome } from "./gen/tickwire/v1/tickwire_pb.js";
import { MatchPhase } from "./gen/tickwire/v1/tickwire_pb.js";
import { Emitter } from "./emitter.js";
import { MirrorError, toSafeNumber, type MirrorChanges, type StateMirror } from "./mirror.js";
import { Entity, Player, RoomRecord, emptyValues, type FieldRecord } from "./records.js";
import {
  BIT_SIGNED, BIT_TEXT, FNV_OFFSET, MAX_BITS, Schema, fieldDiffers, fieldValue, fullValue, stateChecksum, type Shape,
} from "./schema.js";
import { deltaFrame, wireValues, type ColumnsFrame, type DeltaFrame, type RowFrame, type UpdatesFrame, type WireValues } from "./wire.js";

/** A copy of the whole state at one tick, safe to keep (e.g. in an interpolation buffer). */
export interface GameState {
  tick: number;
  phase: MatchPhase;
  endTick: number;
  entities: ReadonlyMap<number, Entity>;
  players: ReadonlyMap<number, Player>;
  room: RoomRecord;
}

export type GameChanges = MirrorChanges<Entity, Player>;

// Scratch for applying updates, shared by every mirror (JavaScript runs one
// apply at a time): counts and offsets per mask bit.
const count = new Int32Array(MAX_BITS);
const tcount = new Int32Array(MAX_BITS);
let maskLo = 0;
let maskHi = 0;

const TWO32 = 4294967296;

/** Splits mask i of a column into maskLo and maskHi (32-bit words). */
function splitMask(col: WireValues, i: number): void {
  const n = col.nums[i]!;
  if (n <= 0xffffffff) {
    maskLo = n;
    maskHi = 0;
  } else if (n === n) {
    maskLo = n % TWO32;
    maskHi = Math.floor(n / TWO32);
  } else {
    const m = col.big!.get(i)!;
    maskLo = Number(m & 0xffffffffn);
    maskHi = Number((m >> 32n) & 0xffffffffn);
  }
}

/**
 * The full value of a component from value i of a column: zigzag-decoded
 * when signed. Hot path: most values are small, and integer operations decode
 * them; one past 2^53 is refused (PROTOCOL.md, "Values").
 */
function full(signed: boolean, col: WireValues, i: number): number {
  const n = col.nums[i]!;
  if (n < 2147483648) return signed ? (n >>> 1) ^ -(n & 1) : n;
  if (n === n) return !signed ? n : n % 2 === 1 ? -(n + 1) / 2 : n / 2; // exact: n is below 2^53
  return fullValue(signed, col.big!.get(i)!);
}

/** A component's value after an update: old plus the change when signed, the new value otherwise. */
function changed(signed: boolean, old: number, col: WireValues, i: number, what: string): number {
  if (!signed) return full(false, col, i);
  const v = old + full(true, col, i);
  if (!Number.isSafeInteger(v)) throw new MirrorError("malformed", `${what}: value ${old} + change is outside the safe integer range`);
  return v;
}

/**
 * A room's state, decoded by its schema. Entities and players are kept in
 * ascending id order; each has its fields by name (`get`, `fields()`).
 * `on(...)` subscribes to the change callbacks (MirrorChanges) and returns the
 * unsubscribe function; subscribe in the connection's `welcome` handler to
 * get an `entityAdded` for everything in the first snapshot.
 */
export class SchemaMirror extends Emitter<GameChanges> implements StateMirror {
  tick = 0;
  synced = false;
  checksum = FNV_OFFSET;
  phase: MatchPhase = MatchPhase.UNSPECIFIED;
  endTick = 0;
  /** Entities in ascending id order. Read-only for the game: use state() for a copy. */
  entities: Entity[] = [];
  /** Players in ascending id order. */
  players: Player[] = [];
  /** The room's own fields. */
  room: RoomRecord;

  // Scratch for applying updates, reused so that a delta allocates nothing:
  // the updated records (the first nrecs) and their masks' two words.
  private recs: FieldRecord[] = [];
  private nrecs = 0;
  private lo = new Int32Array(64);
  private hi = new Int32Array(64);

  constructor(readonly schema: Schema) {
    super();
    const r = emptyValues(schema.room);
    this.room = new RoomRecord(schema.room, r.values, r.texts);
  }

  /** Builds a mirror for a Welcome's schema; the connection applies the Welcome's snapshot. */
  static fromWelcome(welcome: Welcome): SchemaMirror {
    return new SchemaMirror(new Schema(welcome.schema));
  }

  entity(id: number): Entity | undefined {
    const i = findById(this.entities, id);
    return i >= 0 ? this.entities[i] : undefined;
  }

  player(id: number): Player | undefined {
    const i = findById(this.players, id);
    return i >= 0 ? this.players[i] : undefined;
  }

  /** A copy of the state, for interpolation, prediction or rendering. */
  state(): GameState {
    return {
      tick: this.tick,
      phase: this.phase,
      endTick: this.endTick,
      entities: new Map(this.entities.map((e) => [e.id, e.clone()])),
      players: new Map(this.players.map((p) => [p.id, p.clone()])),
      room: this.room.clone(),
    };
  }

  applySnapshot(s: Snapshot): void {
    this.synced = false;
    const what = `snapshot ${s.tick}`;
    const ents = s.entities ? this.decodeEntities({ ...s.entities, values: wireValues(s.entities.values) }, what) : [];
    const room = this.loadRow(this.schema.room, wireValues(s.room?.values ?? []), s.room?.texts ?? [], `${what}: room`);
    const players = s.players.map((p) => this.playerFrom(p, what)).sort((a, b) => a.id - b.id);
    for (let i = 1; i < players.length; i++) {
      if (players[i]!.id === players[i - 1]!.id) throw new MirrorError("malformed", `${what}: duplicate player ${players[i]!.id}`);
    }
    this.entities = ents;
    this.players = players;
    this.room = new RoomRecord(this.schema.room, room.values, room.texts);
    this.tick = toSafeNumber(s.tick, "tick");
    this.phase = s.phase;
    this.endTick = toSafeNumber(s.endTick, "end tick");
    this.verify(s.checksum, what);
  }

  applyDelta(d: Delta): void {
    this.applyDeltaFrame(deltaFrame(d));
  }

  /**
   * Applies a delta read by readDeltaFrame (the connection's path: no bigint).
   * Hot path: runs on every frame; allocates only for created entities and
   * joined players.
   */
  applyDeltaFrame(d: DeltaFrame): void {
    const base = d.baseTick;
    if (!this.synced || base !== this.tick) {
      this.synced = false;
      throw new MirrorError("base_tick", `delta ${d.tick}: base tick ${base}, mirror at ${this.tick}`);
    }
    this.synced = false; // until the delta is applied and verified
    const tick = d.tick;
    const what = `delta ${tick}`;
    if (tick <= base) throw new MirrorError("malformed", `${what}: tick not after base tick ${base}`);
    for (const id of d.removed) {
      const i = findById(this.entities, id);
      if (i < 0) throw new MirrorError("malformed", `${what}: remove of unknown entity ${id}`);
      this.entities.splice(i, 1);
    }
    if (d.updates) this.updateEntities(d.updates, what);
    if (d.created) this.createEntities(d.created, what);
    for (const id of d.playersLeft) {
      const i = findById(this.players, id);
      if (i < 0) throw new MirrorError("malformed", `${what}: unknown player ${id} left`);
      this.players.splice(i, 1);
    }
    for (const p of d.playersJoined) {
      if (findById(this.players, p.id) >= 0) throw new MirrorError("malformed", `${what}: player ${p.id} joined twice`);
      this.players.splice(insertAt(this.players, p.id), 0, this.playerFrom(p, what));
    }
    if (d.scorePlayers.length !== d.scores.length) {
      throw new MirrorError("malformed", `${what}: ${d.scorePlayers.length} score players, ${d.scores.length} scores`);
    }
    for (let k = 0; k < d.scorePlayers.length; k++) {
      const i = findById(this.players, d.scorePlayers[k]!);
      if (i < 0) throw new MirrorError("malformed", `${what}: score of unknown player ${d.scorePlayers[k]}`);
      const score = d.scores[k]!;
      if (score !== score) throw new MirrorError("malformed", `${what}: score of player ${d.scorePlayers[k]} is outside the safe integer range of a JavaScript number`);
      this.players[i]!.score = score;
    }
    if (d.playerUpdates) this.updatePlayers(d.playerUpdates, what);
    if (d.ackPlayers.length !== d.ackSeqs.length) {
      throw new MirrorError("malformed", `${what}: ${d.ackPlayers.length} ack players, ${d.ackSeqs.length} ack seqs`);
    }
    if (d.room) this.applyRow(this.schema.room, this.room, d.room, `${what}: room`);
    if (d.phase !== MatchPhase.UNSPECIFIED) {
      this.phase = d.phase;
      this.endTick = d.endTick;
    }
    this.tick = tick;
    this.verify(d.checksum, what);
  }

  // --- decoding ---

  /** Every entity of c, every field present, values column by column. */
  private decodeEntities(c: ColumnsFrame, what: string): Entity[] {
    const ids = c.ids, kinds = c.kinds;
    if (kinds.length !== ids.length) throw new MirrorError("malformed", `${what}: ${ids.length} entity ids, ${kinds.length} kinds`);
    const out: Entity[] = [];
    let bits = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (i > 0 && id <= ids[i - 1]!) throw new MirrorError("malformed", `${what}: entity ids not ascending at ${id}`);
      const sh = this.schema.kind(kinds[i]!);
      if (!sh) throw new MirrorError("malformed", `${what}: entity ${id} has unknown kind ${kinds[i]}`);
      if (sh.bits > bits) bits = sh.bits;
      const r = emptyValues(sh);
      out.push(new Entity(id, kinds[i]!, sh, r.values, r.texts));
    }
    const vals = c.values, texts = c.texts;
    let v = 0, t = 0;
    for (let b = 0; b < bits; b++) {
      for (let i = 0; i < out.length; i++) {
        const e = out[i]!;
        const sh = e.shape;
        if (b >= sh.bits) continue;
        const k = sh.bitKind[b]!;
        if (k === BIT_TEXT) {
          if (t >= texts.length) throw new MirrorError("malformed", `${what}: entity texts too short at entity ${e.id}`);
          e.texts![b] = texts[t++]!;
        } else {
          if (v >= vals.nums.length) throw new MirrorError("malformed", `${what}: entity values too short at entity ${e.id}`);
          e.values[b] = full(k === BIT_SIGNED, vals, v++);
        }
      }
    }
    if (v !== vals.nums.length || t !== texts.length) throw new MirrorError("malformed", `${what}: entity columns longer than the entities use`);
    return out;
  }

  /** One record's row of full values in bit order. */
  private loadRow(sh: Shape, vals: WireValues, texts: readonly string[], what: string): { values: number[]; texts: string[] | undefined } {
    const r = emptyValues(sh);
    maskLo = sh.allLo;
    maskHi = sh.allHi;
    readRow(sh, r, vals, texts, true, what);
    return r;
  }

  private playerFrom(p: PlayerProto, what: string): Player {
    const r = this.loadRow(this.schema.player, wireValues(p.values), p.texts, `${what}: player ${p.id}`);
    return new Player(p.id, p.name, p.entityId, toSafeNumber(p.score, "score"), this.schema.player, r.values, r.texts);
  }

  /** One record's changes in bit order (the room's FieldValues). */
  private applyRow(sh: Shape, r: FieldRecord, f: RowFrame, what: string): void {
    splitMask(f.mask, 0);
    if ((maskLo & ~sh.allLo) !== 0 || (maskHi & ~sh.allHi) !== 0) {
      throw new MirrorError("malformed", `${what}: unknown field mask bits in ${maskHi * TWO32 + (maskLo >>> 0)}`);
    }
    readRow(sh, r, f.values, f.texts, false, what);
  }

  private updateEntities(u: UpdatesFrame, what: string): void {
    this.collect(u, this.entities, what, "entity");
    this.applyColumns(u, what);
  }

  private updatePlayers(u: UpdatesFrame, what: string): void {
    this.collect(u, this.players, what, "player");
    this.applyColumns(u, `${what}: player updates`);
  }

  /** Puts the records an EntityUpdates names, in order, into this.recs. */
  private collect(u: UpdatesFrame, list: readonly (FieldRecord & { id: number })[], what: string, noun: string): void {
    const recs = this.recs;
    this.nrecs = 0;
    const gaps = u.idGaps;
    if (u.all) {
      if (gaps.length !== 0) throw new MirrorError("malformed", `${what}: ${noun} updates with both all and id_gaps`);
      for (let i = 0; i < list.length; i++) recs[i] = list[i]!;
      this.nrecs = list.length;
      return;
    }
    let id = 0;
    let pos = 0;
    for (let k = 0; k < gaps.length; k++) {
      if (k === 0) id = gaps[0]!;
      else {
        const next = id + gaps[k]!;
        if (next <= id || next > 0xffffffff) throw new MirrorError("malformed", `${what}: updated ${noun} ids not ascending after ${id}`);
        id = next;
      }
      const i = findById(list, id, pos);
      if (i < 0) throw new MirrorError("malformed", `${what}: update of unknown ${noun} ${id}`);
      recs[k] = list[i]!;
      pos = i + 1;
    }
    this.nrecs = gaps.length;
  }

  /**
   * Applies the column-by-column values of u to recs: counts what each mask
   * bit's column holds, then reads every column from its start.
   */
  private applyColumns(u: UpdatesFrame, what: string): void {
    const masks = u.masks.nums;
    const recs = this.recs;
    const n = this.nrecs;
    if (masks.length !== n && masks.length !== 1) {
      if (n === 0 && masks.length === 0) return;
      throw new MirrorError("malformed", `${what}: ${masks.length} masks for ${n} updated records`);
    }
    if (this.lo.length < n) {
      this.lo = new Int32Array(n * 2);
      this.hi = new Int32Array(n * 2);
    }
    const lo = this.lo, hi = this.hi;
    count.fill(0);
    tcount.fill(0);
    let top = 0; // the highest bit any record uses, plus one
    for (let k = 0; k < n; k++) {
      if (k === 0 || masks.length > 1) splitMask(u.masks, k);
      const sh = recs[k]!.shape;
      if ((maskLo & ~sh.allLo) !== 0 || (maskHi & ~sh.allHi) !== 0) {
        throw new MirrorError("malformed", `${what}: record ${k}: unknown field mask bits in ${maskHi * TWO32 + (maskLo >>> 0)}`);
      }
      lo[k] = maskLo;
      hi[k] = maskHi;
      const kinds = sh.bitKind;
      for (let u32 = maskLo | 0, base = 0; base < 64; u32 = maskHi | 0, base += 32) {
        while (u32 !== 0) {
          const b = base + 31 - Math.clz32(u32 & -u32);
          u32 &= u32 - 1;
          if (kinds[b] === BIT_TEXT) tcount[b]!++;
          else count[b]!++;
          if (b >= top) top = b + 1;
        }
        if (maskHi === 0) break;
      }
    }
    // Turn the counts into each column's start.
    let vn = 0, tn = 0;
    for (let b = 0; b < top; b++) {
      const c = count[b]!, t = tcount[b]!;
      count[b] = vn;
      tcount[b] = tn;
      vn += c;
      tn += t;
    }
    const vals = u.values, texts = u.texts;
    if (vn !== vals.nums.length || tn !== texts.length) {
      throw new MirrorError("malformed", `${what}: masks use ${vn} values and ${tn} texts, the columns hold ${vals.nums.length} and ${texts.length}`);
    }
    for (let k = 0; k < n; k++) {
      const r = recs[k]!;
      const kinds = r.shape.bitKind;
      const values = r.values;
      const h = hi[k]!;
      for (let u32 = lo[k]! | 0, base = 0; base < 64; u32 = h | 0, base += 32) {
        while (u32 !== 0) {
          const b = base + 31 - Math.clz32(u32 & -u32);
          u32 &= u32 - 1;
          const kind = kinds[b];
          if (kind === BIT_TEXT) {
            r.texts![b] = texts[tcount[b]!++]!;
          } else if (kind === BIT_SIGNED) {
            const v = values[b]! + full(true, vals, count[b]!++);
            if (!Number.isSafeInteger(v)) throw new MirrorError("malformed", `${what}: value at bit ${b} is outside the safe integer range`);
            values[b] = v;
          } else {
            values[b] = full(false, vals, count[b]!++);
          }
        }
        if (h === 0) break;
      }
    }
  }

  private createEntities(c: ColumnsFrame, what: string): void {
    const created = this.decodeEntities(c, `${what}: created`);
    for (const e of created) {
      const n = this.entities.length;
      if (n === 0 || e.id > this.entities[n - 1]!.id) {
        this.entities.push(e); // ids only grow: the usual case
        continue;
      }
      if (findById(this.entities, e.id) >= 0) throw new MirrorError("malformed", `${what}: duplicate create of entity ${e.id}`);
      this.entities.splice(insertAt(this.entities, e.id), 0, e);
    }
  }

  private verify(want: number, what: string): void {
    this.checksum = stateChecksum(this.schema, this.entities, this.players, this.room);
    if (this.checksum !== want >>> 0) {
      throw new MirrorError("checksum", `${what}: state checksum ${hex(this.checksum)}, server ${hex(want)}`);
    }
    this.synced = true;
    this.publish();
  }

  // --- change callbacks ---

  // The last verified state, as the change callbacks last described it; kept
  // only while something listens.
  private seen: { entities: Entity[]; players: Player[]; room: RoomRecord; phase: number; endTick: number } | undefined;

  override on<K extends keyof GameChanges>(type: K, fn: (e: GameChanges[K]) => void): () => void {
    if (!this.seen) {
      // Start from what is already verified: only later changes are news.
      this.seen = this.synced
        ? { entities: this.entities.map((e) => e.clone()), players: this.players.map((p) => p.clone()), room: this.room.clone(), phase: this.phase, endTick: this.endTick }
        : { entities: [], players: [], room: this.room.clone(), phase: MatchPhase.UNSPECIFIED, endTick: 0 };
    }
    return super.on(type, fn);
  }

  /** Fires the change callbacks from the last verified state to this one. */
  private publish(): void {
    const seen = this.seen;
    if (!seen) return;
    if (!this.listening()) {
      this.seen = undefined;
      return;
    }
    const removed: Entity[] = [];
    const added: Entity[] = [];
    const changed: GameChanges["entityChanged"][] = [];
    seen.entities = diffRecords(seen.entities, this.entities, removed, added, (a, b) => {
      if (a.kind !== b.kind) return false;
      diffFields(a, b, (field, value, previous) => changed.push({ entity: b, field, value, previous }));
      return true;
    });
    const left: Player[] = [];
    const joined: Player[] = [];
    const pchanged: GameChanges["playerChanged"][] = [];
    seen.players = diffRecords(seen.players, this.players, left, joined, (a, b) => {
      if (a.name !== b.name) pchanged.push({ player: b, field: "name", value: b.name, previous: a.name });
      if (a.entityId !== b.entityId) pchanged.push({ player: b, field: "entityId", value: b.entityId, previous: a.entityId });
      if (a.score !== b.score) pchanged.push({ player: b, field: "score", value: b.score, previous: a.score });
      a.name = b.name;
      a.entityId = b.entityId;
      a.score = b.score;
      diffFields(a, b, (field, value, previous) => pchanged.push({ player: b, field, value, previous }));
      return true;
    });
    const room: GameChanges["roomChanged"][] = [];
    if (seen.phase !== this.phase) room.push({ field: "phase", value: this.phase, previous: seen.phase });
    if (seen.endTick !== this.endTick) room.push({ field: "endTick", value: this.endTick, previous: seen.endTick });
    seen.phase = this.phase;
    seen.endTick = this.endTick;
    diffFields(seen.room, this.room, (field, value, previous) => room.push({ field, value, previous }));
    for (const entity of removed) this.emit("entityRemoved", { entity });
    for (const c of changed) this.emit("entityChanged", c);
    for (const entity of added) this.emit("entityAdded", { entity });
    for (const player of left) this.emit("playerLeft", { player });
    for (const player of joined) this.emit("playerJoined", { player });
    for (const c of pchanged) this.emit("playerChanged", c);
    for (const c of room) this.emit("roomChanged", c);
  }
}

/**
 * Reads one record's row, the bits of maskLo and maskHi in bit order, into r:
 * full values when `whole` (a snapshot's or a joined player's row), else
 * changes (a delta's). Every value and text must be used.
 */
function readRow(sh: Shape, r: { values: number[]; texts: string[] | undefined }, vals: WireValues, texts: readonly string[], whole: boolean, what: string): void {
  let v = 0, t = 0;
  for (let b = 0; b < sh.bits; b++) {
    const set = b < 32 ? (maskLo >>> b) & 1 : (maskHi >>> (b - 32)) & 1;
    if (!set) continue;
    const k = sh.bitKind[b]!;
    if (k === BIT_TEXT) {
      if (t >= texts.length) throw new MirrorError("malformed", `${what}: texts too short`);
      r.texts![b] = texts[t++]!;
    } else {
      if (v >= vals.nums.length) throw new MirrorError("malformed", `${what}: values too short`);
      const i = v++;
      r.values[b] = whole ? full(k === BIT_SIGNED, vals, i) : changed(k === BIT_SIGNED, r.values[b]!, vals, i, what);
    }
  }
  if (v !== vals.nums.length || t !== texts.length) throw new MirrorError("malformed", `${what}: values longer than the ${whole ? "fields" : "mask uses"}`);
}

/**
 * Reports each declared field that differs from `seen` to `cur` and copies it
 * into `seen`, so that `seen` ends equal to `cur`.
 */
function diffFields(seen: FieldRecord, cur: FieldRecord, changed: (field: string, value: ReturnType<typeof fieldValue>, previous: ReturnType<typeof fieldValue>) => void): void {
  for (const f of cur.shape.fields) {
    if (!fieldDiffers(f, seen.values, seen.texts, cur.values, cur.texts)) continue;
    const previous = fieldValue(f, seen.values, seen.texts);
    changed(f.name, fieldValue(f, cur.values, cur.texts), previous);
    for (let c = f.bit; c < f.bit + f.components; c++) {
      seen.values[c] = cur.values[c]!;
      if (seen.texts) seen.texts[c] = cur.texts![c]!;
    }
  }
}

/**
 * Compares the records last reported with the current ones (both sorted by
 * id): collects the removed and added ones, lets `same` report the changes of
 * the ones in both (and bring the old copy up to date; false: treat it as
 * removed and added), and returns the new report state.
 */
function diffRecords<T extends { id: number; clone(): T }>(
  before: readonly T[],
  after: readonly T[],
  removed: T[],
  added: T[],
  same: (seen: T, cur: T) => boolean,
): T[] {
  const next: T[] = [];
  let i = 0, j = 0;
  while (i < before.length || j < after.length) {
    const a = before[i], b = after[j];
    if (b === undefined || (a !== undefined && a.id < b.id)) {
      removed.push(a!);
      i++;
    } else if (a === undefined || b.id < a.id) {
      added.push(b);
      next.push(b.clone());
      j++;
    } else {
      if (same(a, b)) next.push(a);
      else {
        removed.push(a);
        added.push(b);
        next.push(b.clone());
      }
      i++;
      j++;
    }
  }
  return next;
}

/** The index of id in a list sorted by id, searching from `from`; -1 when absent. */
function findById(list: readonly { id: number }[], id: number, from = 0): number {
  if (from < list.length && list[from]!.id === id) return from;
  const i = insertAt(list, id, from);
  return i < list.length && list[i]!.id === id ? i : -1;
}

/** The first index at or after `from` whose id is not below id. */
function insertAt(list: readonly { id: number }[], id: number, from = 0): number {
  let lo = from, hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.id < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function hex(v: number): string {
  return "0x" + (v >>> 0).toString(16).padStart(8, "0");
}
