// The arena mirror: today's fixed entity shape (kind, x, y, angle, value) and
// per-player score, applied as PROTOCOL.md "Applying a delta" says and checked
// with its FNV-1a checksum. This whole module is what the schema-driven
// mirror will replace; nothing outside it knows the arena's fields.

import type { Delta, EntityColumns, EntityUpdates, Player, Snapshot, Welcome } from "./gen/tickwire/v1/tickwire_pb.js";
import { MatchPhase } from "./gen/tickwire/v1/tickwire_pb.js";
import { Emitter } from "./emitter.js";
import { MirrorError, toSafeNumber, type MirrorChanges, type StateMirror } from "./mirror.js";

/** One entity, in wire units: positions in 1/16 world unit, angle in 1/256 turn. */
export interface ArenaEntity {
  id: number;
  kind: number;
  x: number;
  y: number;
  angle: number;
  value: number;
}

export interface ArenaPlayer {
  id: number;
  name: string;
  entityId: number;
  score: number;
}

/** A copy of the whole state at one tick, safe to keep (e.g. in an interpolation buffer). */
export interface ArenaState {
  tick: number;
  phase: MatchPhase;
  endTick: number;
  entities: ReadonlyMap<number, Readonly<ArenaEntity>>;
  players: ReadonlyMap<number, Readonly<ArenaPlayer>>;
}

export type ArenaEntityField = "kind" | "x" | "y" | "angle" | "value";
export type ArenaPlayerField = "name" | "entityId" | "score";
export type ArenaRoomField = "phase" | "endTick";
export type ArenaChanges = MirrorChanges<ArenaEntity, ArenaPlayer, ArenaEntityField, ArenaPlayerField, ArenaRoomField>;

const ENTITY_FIELDS: readonly ArenaEntityField[] = ["kind", "x", "y", "angle", "value"];
const PLAYER_FIELDS: readonly ArenaPlayerField[] = ["name", "entityId", "score"];

/** World units per wire unit of position. */
export const POSITION_SCALE = 1 / 16;

const MASK_X = 1;
const MASK_Y = 2;
const MASK_ANGLE = 4;
const MASK_KIND = 8;
const MASK_VALUE = 16;
const ALL_FIELDS = MASK_X | MASK_Y | MASK_ANGLE | MASK_KIND | MASK_VALUE;

const FNV_OFFSET = 0x811c9dc5;

/**
 * The state checksum of PROTOCOL.md: FNV-1a 32 over every entity in ascending
 * id order (id, kind, x, y, angle, value as 32-bit little-endian) and then
 * every player in ascending id order (id u32, score i64).
 */
export function arenaChecksum(entities: readonly ArenaEntity[], players: readonly ArenaPlayer[]): number {
  let h = FNV_OFFSET | 0;
  for (let i = 0; i < entities.length; i++) {
    const e = entities[i]!;
    h = mix(h, e.id);
    h = mix(h, e.kind);
    h = mix(h, e.x);
    h = mix(h, e.y);
    h = mix(h, e.angle);
    h = mix(h, e.value);
  }
  for (let i = 0; i < players.length; i++) {
    const p = players[i]!;
    h = mix(h, p.id);
    // An i64 in two's complement, low word first; exact for any safe integer
    // (ToUint32 takes the value modulo 2^32, negative ones included).
    h = mix(h, p.score >>> 0);
    h = mix(h, Math.floor(p.score / 4294967296) >>> 0);
  }
  return h >>> 0;
}

/** FNV-1a over the four little-endian bytes of a 32-bit word. */
function mix(h: number, v: number): number {
  h = Math.imul(h ^ (v & 0xff), 16777619);
  h = Math.imul(h ^ ((v >>> 8) & 0xff), 16777619);
  h = Math.imul(h ^ ((v >>> 16) & 0xff), 16777619);
  return Math.imul(h ^ (v >>> 24), 16777619);
}

/**
 * The arena game's mirror. Entities and players are kept in ascending id
 * order. `on(...)` subscribes to its change callbacks (MirrorChanges) and
 * returns the unsubscribe function; subscribe in the connection's `welcome`
 * handler to get an `entityAdded` for everything in the first snapshot.
 */
export class ArenaMirror extends Emitter<ArenaChanges> implements StateMirror {
  tick = 0;
  synced = false;
  checksum = FNV_OFFSET;
  phase: MatchPhase = MatchPhase.UNSPECIFIED;
  endTick = 0;
  /** Entities in ascending id order. Read-only for the game: use state() for a copy. */
  readonly entities: ArenaEntity[] = [];
  /** Players in ascending id order. */
  readonly players: ArenaPlayer[] = [];

  /** Builds a mirror for a Welcome; the connection applies the Welcome's snapshot. */
  static fromWelcome(_welcome: Welcome): ArenaMirror {
    return new ArenaMirror();
  }

  entity(id: number): Readonly<ArenaEntity> | undefined {
    const i = findById(this.entities, id);
    return i >= 0 ? this.entities[i] : undefined;
  }

  player(id: number): Readonly<ArenaPlayer> | undefined {
    const i = findById(this.players, id);
    return i >= 0 ? this.players[i] : undefined;
  }

  /** A copy of the state, for interpolation, prediction or rendering. */
  state(): ArenaState {
    return {
      tick: this.tick,
      phase: this.phase,
      endTick: this.endTick,
      entities: new Map(this.entities.map((e) => [e.id, { ...e }])),
      players: new Map(this.players.map((p) => [p.id, { ...p }])),
    };
  }

  applySnapshot(s: Snapshot): void {
    this.synced = false;
    const ids = s.entityIds;
    sameLength("snapshot", ids.length, s.kinds, s.x, s.y, s.angle, s.value);
    const ents: ArenaEntity[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (i > 0 && id <= ids[i - 1]!) {
        throw new MirrorError("malformed", `snapshot ${s.tick}: entity ids not ascending at ${id}`);
      }
      ents.push({ id, kind: s.kinds[i]!, x: s.x[i]!, y: s.y[i]!, angle: s.angle[i]!, value: s.value[i]! });
    }
    const players = s.players.map(playerFrom).sort((a, b) => a.id - b.id);
    for (let i = 1; i < players.length; i++) {
      if (players[i]!.id === players[i - 1]!.id) {
        throw new MirrorError("malformed", `snapshot ${s.tick}: duplicate player ${players[i]!.id}`);
      }
    }
    this.entities.splice(0, this.entities.length, ...ents);
    this.players.splice(0, this.players.length, ...players);
    this.tick = toSafeNumber(s.tick, "tick");
    this.phase = s.phase;
    this.endTick = toSafeNumber(s.endTick, "end tick");
    this.verify(s.checksum, `snapshot ${s.tick}`);
  }

  applyDelta(d: Delta): void {
    const base = toSafeNumber(d.baseTick, "base tick");
    if (!this.synced || base !== this.tick) {
      this.synced = false;
      throw new MirrorError("base_tick", `delta ${d.tick}: base tick ${base}, mirror at ${this.tick}`);
    }
    this.synced = false; // until the delta is applied and verified
    const tick = toSafeNumber(d.tick, "tick");
    if (tick <= base) throw new MirrorError("malformed", `delta ${tick}: tick not after base tick ${base}`);
    for (const id of d.removed) {
      const i = findById(this.entities, id);
      if (i < 0) throw new MirrorError("malformed", `delta ${tick}: remove of unknown entity ${id}`);
      this.entities.splice(i, 1);
    }
    if (d.updates) this.update(d.updates, tick);
    if (d.created) this.create(d.created, tick);
    for (const id of d.playersLeft) {
      const i = findById(this.players, id);
      if (i < 0) throw new MirrorError("malformed", `delta ${tick}: unknown player ${id} left`);
      this.players.splice(i, 1);
    }
    for (const p of d.playersJoined) {
      const i = findById(this.players, p.id);
      if (i >= 0) throw new MirrorError("malformed", `delta ${tick}: player ${p.id} joined twice`);
      this.players.splice(insertAt(this.players, p.id), 0, playerFrom(p));
    }
    if (d.scorePlayers.length !== d.scores.length) {
      throw new MirrorError("malformed", `delta ${tick}: ${d.scorePlayers.length} score players, ${d.scores.length} scores`);
    }
    for (let k = 0; k < d.scorePlayers.length; k++) {
      const i = findById(this.players, d.scorePlayers[k]!);
      if (i < 0) throw new MirrorError("malformed", `delta ${tick}: score of unknown player ${d.scorePlayers[k]}`);
      this.players[i]!.score = toSafeNumber(d.scores[k]!, "score");
    }
    if (d.phase !== MatchPhase.UNSPECIFIED) {
      this.phase = d.phase;
      this.endTick = toSafeNumber(d.endTick, "end tick");
    }
    this.tick = tick;
    this.verify(d.checksum, `delta ${tick}`);
  }

  private update(u: EntityUpdates, tick: number): void {
    const gaps = u.idGaps;
    let n = gaps.length;
    if (u.all) {
      if (n !== 0) throw new MirrorError("malformed", `delta ${tick}: updates with both all and id_gaps`);
      n = this.entities.length;
    }
    const masks = u.masks;
    if (masks.length !== n && masks.length !== 1) {
      throw new MirrorError("malformed", `delta ${tick}: ${masks.length} masks for ${n} updated entities`);
    }
    let cx = 0, cy = 0, ca = 0, ck = 0, cv = 0;
    let id = 0;
    let pos = 0;
    for (let k = 0; k < n; k++) {
      let i = k;
      if (!u.all) {
        if (k === 0) {
          id = gaps[0]!;
        } else {
          const next = id + gaps[k]!;
          if (next <= id || next > 0xffffffff) {
            throw new MirrorError("malformed", `delta ${tick}: updated ids not ascending after ${id}`);
          }
          id = next;
        }
        i = findById(this.entities, id, pos);
        if (i < 0) throw new MirrorError("malformed", `delta ${tick}: update of unknown entity ${id}`);
        pos = i + 1;
      }
      const e = this.entities[i]!;
      const mask = masks.length === 1 ? masks[0]! : masks[k]!;
      if ((mask & ~ALL_FIELDS) !== 0) {
        throw new MirrorError("malformed", `delta ${tick}: entity ${e.id}: unknown field mask bits ${mask & ~ALL_FIELDS}`);
      }
      if (mask & MASK_X) {
        if (cx >= u.dx.length) throw short(tick, "dx", e.id);
        e.x = (e.x + u.dx[cx++]!) | 0;
      }
      if (mask & MASK_Y) {
        if (cy >= u.dy.length) throw short(tick, "dy", e.id);
        e.y = (e.y + u.dy[cy++]!) | 0;
      }
      if (mask & MASK_ANGLE) {
        if (ca >= u.angle.length) throw short(tick, "angle", e.id);
        e.angle = u.angle[ca++]!;
      }
      if (mask & MASK_KIND) {
        if (ck >= u.kinds.length) throw short(tick, "kinds", e.id);
        e.kind = u.kinds[ck++]!;
      }
      if (mask & MASK_VALUE) {
        if (cv >= u.value.length) throw short(tick, "value", e.id);
        e.value = u.value[cv++]!;
      }
    }
    if (cx !== u.dx.length || cy !== u.dy.length || ca !== u.angle.length || ck !== u.kinds.length || cv !== u.value.length) {
      throw new MirrorError("malformed", `delta ${tick}: update columns longer than the masks use`);
    }
  }

  private create(c: EntityColumns, tick: number): void {
    sameLength(`delta ${tick}: created`, c.ids.length, c.kinds, c.x, c.y, c.angle, c.value);
    for (let i = 0; i < c.ids.length; i++) {
      const id = c.ids[i]!;
      const e: ArenaEntity = { id, kind: c.kinds[i]!, x: c.x[i]!, y: c.y[i]!, angle: c.angle[i]!, value: c.value[i]! };
      const n = this.entities.length;
      if (n === 0 || id > this.entities[n - 1]!.id) {
        this.entities.push(e); // ids only grow: the usual case
        continue;
      }
      if (findById(this.entities, id) >= 0) throw new MirrorError("malformed", `delta ${tick}: duplicate create of entity ${id}`);
      this.entities.splice(insertAt(this.entities, id), 0, e);
    }
  }

  private verify(want: number, what: string): void {
    this.checksum = arenaChecksum(this.entities, this.players);
    if (this.checksum !== want >>> 0) {
      throw new MirrorError("checksum", `${what}: state checksum ${hex(this.checksum)}, server ${hex(want)}`);
    }
    this.synced = true;
    this.publish();
  }

  // The last verified state, as the change callbacks last described it; kept
  // only while something listens.
  private seen: { entities: ArenaEntity[]; players: ArenaPlayer[]; phase: number; endTick: number } | undefined;

  override on<K extends keyof ArenaChanges>(type: K, fn: (e: ArenaChanges[K]) => void): () => void {
    if (!this.seen) {
      // Start from what is already verified: only later changes are news.
      this.seen = this.synced
        ? { entities: this.entities.map((e) => ({ ...e })), players: this.players.map((p) => ({ ...p })), phase: this.phase, endTick: this.endTick }
        : { entities: [], players: [], phase: MatchPhase.UNSPECIFIED, endTick: 0 };
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
    const removed: ArenaEntity[] = [];
    const added: ArenaEntity[] = [];
    const changed: ArenaChanges["entityChanged"][] = [];
    seen.entities = diffRecords(seen.entities, this.entities, ENTITY_FIELDS, removed, added, (entity, field, value, previous) =>
      changed.push({ entity, field, value, previous }),
    );
    const left: ArenaPlayer[] = [];
    const joined: ArenaPlayer[] = [];
    const pchanged: ArenaChanges["playerChanged"][] = [];
    seen.players = diffRecords(seen.players, this.players, PLAYER_FIELDS, left, joined, (player, field, value, previous) =>
      pchanged.push({ player, field, value, previous }),
    );
    const room: ArenaChanges["roomChanged"][] = [];
    if (seen.phase !== this.phase) room.push({ field: "phase", value: this.phase, previous: seen.phase });
    if (seen.endTick !== this.endTick) room.push({ field: "endTick", value: this.endTick, previous: seen.endTick });
    seen.phase = this.phase;
    seen.endTick = this.endTick;
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
 * Compares the records last reported with the current ones (both sorted by
 * id): collects the removed and added ones, reports each changed field, and
 * returns the new report state (the old copies updated, new ones copied).
 */
function diffRecords<T extends { id: number }, F extends keyof T & string>(
  before: readonly T[],
  after: readonly T[],
  fields: readonly F[],
  removed: T[],
  added: T[],
  changed: (cur: T, field: F, value: T[F], previous: T[F]) => void,
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
      next.push({ ...b });
      j++;
    } else {
      for (const f of fields) {
        if (a[f] !== b[f]) {
          changed(b, f, b[f], a[f]);
          a[f] = b[f];
        }
      }
      next.push(a);
      i++;
      j++;
    }
  }
  return next;
}

function short(tick: number, column: string, id: number): MirrorError {
  return new MirrorError("malformed", `delta ${tick}: update column ${column} too short at entity ${id}`);
}

function playerFrom(p: Player): ArenaPlayer {
  return { id: p.id, name: p.name, entityId: p.entityId, score: toSafeNumber(p.score, "score") };
}

function sameLength(what: string, n: number, ...cols: ArrayLike<unknown>[]): void {
  for (const c of cols) {
    if (c.length !== n) throw new MirrorError("malformed", `${what}: columns of different lengths (${c.length}, want ${n})`);
  }
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
