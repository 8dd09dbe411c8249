// The pieces that need no server: the checksum's worked example, the mirror's
// refusals, prediction and interpolation.

import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { readDeltaFrame } from "../src/wire.js";
import {
  DeltaSchema, EntityColumnsSchema, EntityKindSchema, EntityUpdatesSchema, FieldSpecSchema, FieldValuesSchema, PlayerSchema, SchemaSchema, ServerFrameSchema, SnapshotSchema,
} from "../src/gen/tickwire/v1/tickwire_pb.js";
import {
  describeClose, encodeInput, encodeValue, ErrorCode, FieldType, fullValue, InterpolationBuffer, lerpAngle, MirrorError, Predictor, Schema, SchemaMirror,
  socketURL, stateChecksum, TickSchedule,
} from "../src/index.js";

const spec = (name: string, type: FieldType, extra: { scale?: number; bits?: number; values?: string[] } = {}) =>
  create(FieldSpecSchema, { name, type, ...extra });

/** PROTOCOL.md's worked example: ships, a team per player, a round in the room. */
const exampleSchema = new Schema(create(SchemaSchema, {
  kinds: [create(EntityKindSchema, {
    name: "ship",
    fields: [spec("pos", FieldType.POS2, { scale: 16 }), spec("heading", FieldType.ANGLE, { bits: 8 }), spec("label", FieldType.TEXT)],
  })],
  playerFields: [spec("team", FieldType.ENUM, { values: ["red", "blue"] })],
  roomFields: [spec("round", FieldType.INT)],
}));

/** The arena's schema, as game/arena declares it. */
const arenaSchema = create(SchemaSchema, {
  kinds: [
    create(EntityKindSchema, { name: "avatar", fields: [spec("pos", FieldType.POS2, { scale: 16 }), spec("heading", FieldType.ANGLE, { bits: 8 })] }),
    create(EntityKindSchema, { name: "orb", fields: [spec("pos", FieldType.POS2, { scale: 16 })] }),
  ],
  inputFields: [spec("dx", FieldType.INT), spec("dy", FieldType.INT)],
});

/** FNV-1a 32 over bytes: the reference the checksum must equal. */
function fnv(bytes: number[]): number {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 16777619) >>> 0;
  return h >>> 0;
}
const le = (v: bigint, n: number) => Array.from({ length: n }, (_, i) => Number((BigInt.asUintN(64, v) >> BigInt(8 * i)) & 0xffn));

test("checksum: PROTOCOL.md's worked example, the empty state, and texts as UTF-8", () => {
  const ship = { id: 1, kind: 1, values: [160, -16, 64, 0], texts: ["", "", "", "ab"] };
  const player = { id: 1, score: 3, values: [1] };
  assert.equal(stateChecksum(exampleSchema, [ship], [player], { values: [2] }), 0x9ff90852);
  // The same 66 bytes, written out as the example lists them.
  const bytes = [
    ...le(1n, 4), ...le(1n, 4), ...le(160n, 8), ...le(-16n, 8), ...le(64n, 8), ...le(2n, 4), 0x61, 0x62,
    ...le(1n, 4), ...le(3n, 8), ...le(1n, 8), ...le(2n, 8),
  ];
  assert.equal(bytes.length, 66);
  assert.equal(fnv(bytes), 0x9ff90852);
  const empty = new Schema(create(SchemaSchema, {}));
  assert.equal(stateChecksum(empty, [], [], { values: [] }), 0x811c9dc5);
  // A text is its UTF-8 bytes: 2-, 3- and 4-byte sequences (an emoji is a surrogate pair).
  const label = "é€😀";
  const utf8 = [...new TextEncoder().encode(label)];
  const withText = stateChecksum(exampleSchema, [{ ...ship, texts: ["", "", "", label] }], [], { values: [0] });
  assert.equal(withText, fnv([
    ...le(1n, 4), ...le(1n, 4), ...le(160n, 8), ...le(-16n, 8), ...le(64n, 8), ...le(BigInt(utf8.length), 4), ...utf8, ...le(0n, 8),
  ]));
  // A negative score is an i64 in two's complement: both words change.
  assert.notEqual(
    stateChecksum(exampleSchema, [], [{ id: 1, score: -1, values: [0] }], { values: [0] }),
    stateChecksum(exampleSchema, [], [{ id: 1, score: 0xffffffff, values: [0] }], { values: [0] }),
  );
});

test("checksum: equals FNV-1a over the protocol's bytes for values of every size and sign", () => {
  const s = new Schema(arenaSchema);
  // Deterministic values around every byte boundary, both signs, up to ±2^53.
  const edges = [0, 1, 0xff, 0x100, 0xffff, 0x10000, 0xffffffff, 0x100000000, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER];
  const vals = edges.flatMap((v) => [v, -v, v - 1, -(v + 1)]).filter((v) => Number.isSafeInteger(v));
  for (let i = 0; i < vals.length; i++) {
    const x = vals[i]!, y = vals[(i * 7 + 3) % vals.length]!, a = vals[(i * 5 + 1) % vals.length]!;
    const id = [1, 0xff, 0x100, 0x10000, 0xffffffff][i % 5]!;
    const got = stateChecksum(s, [{ id, kind: 1, values: [x, y, a] }], [{ id: 2, score: y, values: [] }], { values: [] });
    const want = fnv([
      ...le(BigInt(id), 4), ...le(1n, 4), ...le(BigInt(x), 8), ...le(BigInt(y), 8), ...le(BigInt(a), 8),
      ...le(2n, 4), ...le(BigInt(y), 8),
    ]);
    assert.equal(got, want, `id ${id}, values ${x}, ${y}, ${a}`);
  }
});

test("mirror: decodes PROTOCOL.md's worked example from a snapshot, with named fields", () => {
  const m = new SchemaMirror(exampleSchema);
  m.applySnapshot(create(SnapshotSchema, {
    tick: 5n,
    // Full values: signed ones zigzag-coded (160 is 320, -16 is 31), the angle as is.
    entities: create(EntityColumnsSchema, { ids: [1], kinds: [1], values: [320n, 31n, 64n], texts: ["ab"] }),
    players: [create(PlayerSchema, { id: 1, name: "p", entityId: 1, score: 3n, values: [1n] })],
    room: create(FieldValuesSchema, { values: [4n] }),
    checksum: 0x9ff90852,
  }));
  assert.ok(m.synced);
  const ship = m.entity(1)!;
  assert.equal(ship.kindName, "ship");
  assert.deepEqual(ship.get("pos"), { x: 160, y: -16 });
  assert.deepEqual(ship.fields(), { pos: { x: 160, y: -16 }, heading: 64, label: "ab" });
  assert.equal(m.player(1)!.get("team"), 1);
  assert.equal(m.room.get("round"), 2);
});

test("mirror: player updates, room fields and texts change by name, and the change callbacks say so", () => {
  const m = new SchemaMirror(exampleSchema);
  const events: string[] = [];
  m.on("entityAdded", ({ entity }) => events.push(`added ${entity.kindName} ${entity.id}`));
  m.on("entityChanged", ({ entity, field, value, previous }) => events.push(`entity ${entity.id} ${field} ${JSON.stringify(previous)} -> ${JSON.stringify(value)}`));
  m.on("playerJoined", ({ player }) => events.push(`joined ${player.id}`));
  m.on("playerChanged", ({ player, field, value, previous }) => events.push(`player ${player.id} ${field} ${String(previous)} -> ${String(value)}`));
  m.on("roomChanged", ({ field, value, previous }) => events.push(`room ${field} ${String(previous)} -> ${String(value)}`));
  m.applySnapshot(create(SnapshotSchema, {
    tick: 5n,
    entities: create(EntityColumnsSchema, { ids: [1], kinds: [1], values: [320n, 31n, 64n], texts: ["ab"] }),
    players: [create(PlayerSchema, { id: 1, name: "p", entityId: 1, score: 3n, values: [1n] })],
    room: create(FieldValuesSchema, { values: [4n] }),
    checksum: 0x9ff90852,
  }));
  events.length = 0;
  // The ship's label becomes "héllo" and it turns to heading 0; player 1
  // moves to team red (0); the room goes to round 3 (a change of +1: zigzag 2).
  const ship = { id: 1, kind: 1, values: [160, -16, 0, 0], texts: ["", "", "", "héllo"] };
  const sum = stateChecksum(exampleSchema, [ship], [{ id: 1, score: 3, values: [0] }], { values: [3] });
  m.applyDelta(create(DeltaSchema, {
    tick: 6n, baseTick: 5n,
    updates: create(EntityUpdatesSchema, { idGaps: [1], masks: [0b1100n], values: [0n], texts: ["héllo"] }),
    playerUpdates: create(EntityUpdatesSchema, { all: true, masks: [1n], values: [0n] }),
    room: create(FieldValuesSchema, { mask: 1n, values: [2n] }),
    checksum: sum,
  }));
  assert.deepEqual(events, [
    "entity 1 heading 64 -> 0",
    `entity 1 label "ab" -> "héllo"`,
    "player 1 team 1 -> 0",
    "room round 2 -> 3",
  ]);
  assert.equal(m.entity(1)!.get("label"), "héllo");
  assert.equal(m.entity(1)!.text("label"), "héllo");
  assert.deepEqual(m.entity(1)!.vec2("pos"), { x: 160, y: -16 });
  assert.equal(m.entity(1)!.vec2("heading"), undefined);
  assert.equal(m.entity(1)!.vec3("pos"), undefined);
  assert.equal(m.player(1)!.num("team"), 0);
  assert.equal(m.room.num("round"), 3);
  // A room mask bit the room lacks is refused.
  assert.throws(() => m.applyDelta(create(DeltaSchema, {
    tick: 7n, baseTick: 6n, room: create(FieldValuesSchema, { mask: 2n, values: [1n] }), checksum: sum,
  })), (e: unknown) => e instanceof MirrorError && e.fault === "malformed");
});

function arenaMirror(): SchemaMirror {
  const m = new SchemaMirror(new Schema(arenaSchema));
  const s = m.schema;
  // Avatar 1 at (160, -16) heading 64; orb 2 at (32, 48).
  const ents = [{ id: 1, kind: 1, values: [160, -16, 64] }, { id: 2, kind: 2, values: [32, 48] }];
  const players = [{ id: 1, score: 3, values: [] }];
  m.applySnapshot(create(SnapshotSchema, {
    tick: 10n,
    entities: create(EntityColumnsSchema, { ids: [1, 2], kinds: [1, 2], values: [320n, 64n, 31n, 96n, 64n] }),
    players: [create(PlayerSchema, { id: 1, name: "a", entityId: 1, score: 3n })],
    checksum: stateChecksum(s, ents, players, { values: [] }),
  }));
  return m;
}

test("mirror: applies a delta column by column and verifies it", () => {
  const m = arenaMirror();
  const s = m.schema;
  // PROTOCOL.md's column order: bit 0 of every updated entity, then bit 1, then bit 2.
  // Avatar 1: x +16, y -16, heading 96; orb 2: x -4.
  const after = stateChecksum(s, [{ id: 1, kind: 1, values: [176, -32, 96] }, { id: 2, kind: 2, values: [28, 48] }], [{ id: 1, score: 4, values: [] }], { values: [] });
  m.applyDelta(create(DeltaSchema, {
    tick: 11n, baseTick: 10n,
    updates: create(EntityUpdatesSchema, { all: true, masks: [7n, 1n], values: [32n, 7n, 31n, 96n] }),
    scorePlayers: [1], scores: [4n], checksum: after,
  }));
  assert.equal(m.tick, 11);
  assert.deepEqual(m.entity(1)!.fields(), { pos: { x: 176, y: -32 }, heading: 96 });
  assert.deepEqual(m.entity(2)!.get("pos"), { x: 28, y: 48 });
  assert.equal(m.player(1)?.score, 4);
  assert.ok(m.synced);
});

test("mirror: refuses a wrong base tick, a short column, an unknown id or kind, a mask bit the kind lacks, and a wrong checksum", () => {
  const fault = (f: () => void) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof MirrorError, String(e));
      return e.fault;
    }
    assert.fail("no error");
  };
  assert.equal(fault(() => arenaMirror().applyDelta(create(DeltaSchema, { tick: 12n, baseTick: 11n }))), "base_tick");
  assert.equal(fault(() => arenaMirror().applyDelta(create(DeltaSchema, {
    tick: 11n, baseTick: 10n, updates: create(EntityUpdatesSchema, { all: true, masks: [3n], values: [16n] }),
  }))), "malformed");
  // An orb has no heading (bit 2).
  assert.equal(fault(() => arenaMirror().applyDelta(create(DeltaSchema, {
    tick: 11n, baseTick: 10n, updates: create(EntityUpdatesSchema, { idGaps: [2], masks: [4n], values: [1n] }),
  }))), "malformed");
  assert.equal(fault(() => arenaMirror().applyDelta(create(DeltaSchema, { tick: 11n, baseTick: 10n, removed: [7] }))), "malformed");
  assert.equal(fault(() => arenaMirror().applyDelta(create(DeltaSchema, {
    tick: 11n, baseTick: 10n, created: create(EntityColumnsSchema, { ids: [9], kinds: [3] }),
  }))), "malformed");
  assert.equal(fault(() => arenaMirror().applyDelta(create(DeltaSchema, { tick: 11n, baseTick: 10n, checksum: 1 }))), "checksum");
  // A score, or a field value, past 2^53 is refused, not rounded.
  assert.equal(fault(() => arenaMirror().applyDelta(create(DeltaSchema, {
    tick: 11n, baseTick: 10n, scorePlayers: [1], scores: [2n ** 60n],
  }))), "malformed");
  assert.equal(fault(() => arenaMirror().applyDelta(create(DeltaSchema, {
    tick: 11n, baseTick: 10n, updates: create(EntityUpdatesSchema, { idGaps: [1], masks: [1n], values: [2n ** 60n] }),
  }))), "malformed");
  // After a refusal the mirror is out of sync until a snapshot.
  const m = arenaMirror();
  assert.throws(() => m.applyDelta(create(DeltaSchema, { tick: 11n, baseTick: 10n, checksum: 1 })));
  assert.equal(m.synced, false);
});

test("mirror: a signed value near ±2^53 (its zigzag past 2^53) is kept exact, on both delta paths", () => {
  for (const path of ["generated", "wire"] as const) {
    const m = arenaMirror();
    const x = Number.MAX_SAFE_INTEGER, y = Number.MIN_SAFE_INTEGER;
    const ents = [{ id: 1, kind: 1, values: [160, -16, 64] }, { id: 2, kind: 2, values: [32, 48] }, { id: 3, kind: 2, values: [x, y] }];
    const d = create(DeltaSchema, {
      tick: 11n, baseTick: 10n,
      created: create(EntityColumnsSchema, { ids: [3], kinds: [2], values: [encodeValue(true, x), encodeValue(true, y)] }),
      checksum: stateChecksum(m.schema, ents, [{ id: 1, score: 3, values: [] }], { values: [] }),
    });
    if (path === "generated") m.applyDelta(d);
    else m.applyDeltaFrame(readDeltaFrame(toBinary(ServerFrameSchema, create(ServerFrameSchema, { body: { case: "delta", value: d } })))!);
    assert.deepEqual(m.entity(3)!.get("pos"), { x, y }, path);
    assert.ok(m.synced);
  }
});

test("values: zigzag both ways, exact up to 2^53, refused beyond", () => {
  for (const v of [0, 1, -1, 160, -16, 2 ** 52, -(2 ** 52), Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]) {
    assert.equal(fullValue(true, encodeValue(true, v)), v, `signed ${v}`);
  }
  assert.equal(encodeValue(true, -1), 1n);
  assert.equal(encodeValue(true, 1), 2n);
  assert.equal(fullValue(false, 2n ** 53n - 1n), Number.MAX_SAFE_INTEGER);
  assert.throws(() => fullValue(false, 2n ** 53n), MirrorError);
  assert.throws(() => fullValue(true, 2n ** 54n + 2n), MirrorError);
});

test("inputs: named fields are encoded by the schema's input fields, and a field it lacks is refused", () => {
  const s = new Schema(arenaSchema);
  assert.deepEqual(encodeInput(s.input, { dx: -1, dy: 1 }), [1n, 2n]);
  assert.deepEqual(encodeInput(s.input, { dx: 1 }), [2n]); // trailing zeros left out
  assert.deepEqual(encodeInput(s.input, {}), []);
  assert.throws(() => encodeInput(s.input, { jump: 1 }), /input field "jump" is not in the schema \(dx, dy\)/);
  assert.throws(() => encodeInput(s.input, { dx: 0.5 }), RangeError);
  const rich = new Schema(create(SchemaSchema, {
    inputFields: [
      spec("aim", FieldType.ANGLE, { bits: 8 }), spec("fire", FieldType.BOOL), spec("weapon", FieldType.ENUM, { values: ["gun", "laser"] }),
      spec("to", FieldType.POS3, { scale: 16 }),
    ],
  }));
  assert.deepEqual(encodeInput(rich.input, { aim: 255, fire: true, weapon: "laser", to: { x: 1, y: -1, z: 0 } }), [255n, 1n, 1n, 2n, 1n]);
  assert.throws(() => encodeInput(rich.input, { aim: 256 }), /outside 0 to 2\^8/);
  assert.throws(() => encodeInput(rich.input, { weapon: "sword" }), /not one of gun, laser/);
});

test("schema: a field declared twice or past mask bit 63 is refused, naming it", () => {
  assert.throws(() => new Schema(create(SchemaSchema, { roomFields: [spec("t", FieldType.INT), spec("t", FieldType.BOOL)] })), /room: field "t" declared twice/);
  const many = Array.from({ length: 22 }, (_, i) => spec(`p${i}`, FieldType.POS3, { scale: 1 }));
  assert.throws(() => new Schema(create(SchemaSchema, { playerFields: many })), /player: field "p21" past mask bit 63/);
  assert.throws(() => new Schema(undefined), /no schema/);
});

test("close codes map to error codes and to whether a resume may follow", () => {
  assert.deepEqual(describeClose(4015), { errorCode: ErrorCode.REPLACED, retryable: false });
  assert.deepEqual(describeClose(4014), { errorCode: ErrorCode.RESUME_EXPIRED, retryable: false });
  assert.deepEqual(describeClose(4019), { errorCode: ErrorCode.SPECTATORS_FULL, retryable: false });
  assert.deepEqual(describeClose(4008), { errorCode: ErrorCode.SLOW_CONSUMER, retryable: true });
  assert.deepEqual(describeClose(1006), { retryable: true });
  assert.deepEqual(describeClose(1000), { retryable: false });
  assert.deepEqual(describeClose(1009), { retryable: false });
});

test("predictor: re-applies only the unacknowledged inputs on each authoritative state", () => {
  const p = new Predictor<number, number>((s, dx) => s + dx);
  p.push(1, 1);
  p.push(2, 10);
  p.push(3, 100);
  // The server has applied input 1: its state is 1; 10 and 100 are re-applied.
  assert.equal(p.reconcile(1, 1), 111);
  assert.deepEqual(p.unacked.map((u) => u.seq), [2, 3]);
  // A new input applies on top of the prediction at once.
  assert.equal(p.push(4, 1000), 1111);
  assert.equal(p.reconcile(111, 3), 1111);
  assert.deepEqual(p.unacked.map((u) => u.seq), [4]);
});

test("interpolation: samples between the two frames around server time minus the delay", () => {
  const sched = new TickSchedule(1_000_000, 20); // a tick every 50 ms
  const buf = new InterpolationBuffer<number>(sched, { delayMs: 100 });
  for (let t = 10; t <= 14; t++) buf.push(t, t * 10);
  // Server time at tick 14 minus 100 ms is tick 12; at tick 14.5, tick 12.5.
  const s = buf.sample(sched.timeOf(14.5))!;
  assert.equal(s.from.tick, 12);
  assert.equal(s.to.tick, 13);
  assert.ok(Math.abs(s.t - 0.5) < 1e-9);
  // Past the newest frame it holds the newest.
  const late = buf.sample(sched.timeOf(30))!;
  assert.equal(late.from.tick, 14);
  assert.equal(late.t, 0);
});

test("lerpAngle goes the short way round for an angle of any size", () => {
  assert.equal(lerpAngle(250, 6, 0.5, 8), 0); // 250 -> 256 (0) -> 6
  assert.equal(lerpAngle(6, 250, 0.5, 8), 0);
  assert.equal(lerpAngle(0, 64, 0.25, 8), 16);
  assert.equal(lerpAngle(4090, 10, 0.5, 12), 2); // 6 steps up to 4096 (0), then 10 more
});

test("socket URLs: a seat's base address gets /ws, a full URL is kept, http becomes ws", () => {
  assert.equal(socketURL("ws://127.0.0.1:7350"), "ws://127.0.0.1:7350/ws");
  assert.equal(socketURL("wss://play.example.com/ws"), "wss://play.example.com/ws");
  assert.equal(socketURL("https://play.example.com"), "wss://play.example.com/ws");
});
