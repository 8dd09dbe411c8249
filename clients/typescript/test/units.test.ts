// The pieces that need no server: the checksum's worked example, the mirror's
// refusals, prediction and interpolation.

import assert from "node:assert/strict";
import { test } from "node:test";
import { create } from "@bufbuild/protobuf";
import { DeltaSchema, EntityUpdatesSchema, PlayerSchema, SnapshotSchema } from "../src/gen/tickwire/v1/tickwire_pb.js";
import {
  ArenaMirror, arenaChecksum, describeClose, ErrorCode, InterpolationBuffer, MirrorError, Predictor, socketURL, TickSchedule,
} from "../src/index.js";

test("checksum: PROTOCOL.md's worked example and the empty state", () => {
  assert.equal(
    arenaChecksum([{ id: 1, kind: 2, x: 160, y: -16, angle: 64, value: 0 }], [{ id: 1, name: "", entityId: 1, score: 3 }]),
    0xf81c71d7,
  );
  assert.equal(arenaChecksum([], []), 0x811c9dc5);
  // A negative score is an i64 in two's complement: both words change.
  assert.notEqual(
    arenaChecksum([], [{ id: 1, name: "", entityId: 0, score: -1 }]),
    arenaChecksum([], [{ id: 1, name: "", entityId: 0, score: 0xffffffff }]),
  );
});

function snapshot(): ArenaMirror {
  const m = new ArenaMirror();
  const players = [create(PlayerSchema, { id: 1, name: "a", entityId: 1, score: 3n })];
  const ents = [{ id: 1, kind: 2, x: 160, y: -16, angle: 64, value: 0 }];
  m.applySnapshot(create(SnapshotSchema, {
    tick: 10n, entityIds: [1], kinds: [2], x: [160], y: [-16], angle: [64], value: [0], players,
    checksum: arenaChecksum(ents, [{ id: 1, name: "a", entityId: 1, score: 3 }]),
  }));
  return m;
}

test("mirror: applies a delta and verifies it", () => {
  const m = snapshot();
  const after = arenaChecksum([{ id: 1, kind: 2, x: 176, y: -16, angle: 64, value: 0 }], [{ id: 1, name: "a", entityId: 1, score: 4 }]);
  m.applyDelta(create(DeltaSchema, {
    tick: 11n, baseTick: 10n, updates: create(EntityUpdatesSchema, { all: true, masks: [1], dx: [16] }),
    scorePlayers: [1], scores: [4n], checksum: after,
  }));
  assert.equal(m.tick, 11);
  assert.equal(m.entity(1)?.x, 176);
  assert.equal(m.player(1)?.score, 4);
  assert.ok(m.synced);
});

test("mirror: refuses a wrong base tick, a short column, an unknown id and a wrong checksum", () => {
  const fault = (f: () => void) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof MirrorError);
      return e.fault;
    }
    assert.fail("no error");
  };
  assert.equal(fault(() => snapshot().applyDelta(create(DeltaSchema, { tick: 12n, baseTick: 11n }))), "base_tick");
  assert.equal(fault(() => snapshot().applyDelta(create(DeltaSchema, {
    tick: 11n, baseTick: 10n, updates: create(EntityUpdatesSchema, { all: true, masks: [3], dx: [16] }),
  }))), "malformed");
  assert.equal(fault(() => snapshot().applyDelta(create(DeltaSchema, { tick: 11n, baseTick: 10n, removed: [7] }))), "malformed");
  assert.equal(fault(() => snapshot().applyDelta(create(DeltaSchema, { tick: 11n, baseTick: 10n, checksum: 1 }))), "checksum");
  // A score past 2^53 is refused, not rounded.
  assert.equal(fault(() => snapshot().applyDelta(create(DeltaSchema, {
    tick: 11n, baseTick: 10n, scorePlayers: [1], scores: [2n ** 60n],
  }))), "malformed");
  // After a refusal the mirror is out of sync until a snapshot.
  const m = snapshot();
  assert.throws(() => m.applyDelta(create(DeltaSchema, { tick: 11n, baseTick: 10n, checksum: 1 })));
  assert.equal(m.synced, false);
});

test("close codes map to error codes and to whether a resume may follow", () => {
  assert.deepEqual(describeClose(4015), { errorCode: ErrorCode.REPLACED, retryable: false });
  assert.deepEqual(describeClose(4014), { errorCode: ErrorCode.RESUME_EXPIRED, retryable: false });
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

test("socket URLs: a seat's base address gets /ws, a full URL is kept, http becomes ws", () => {
  assert.equal(socketURL("ws://127.0.0.1:7350"), "ws://127.0.0.1:7350/ws");
  assert.equal(socketURL("wss://play.example.com/ws"), "wss://play.example.com/ws");
  assert.equal(socketURL("https://play.example.com"), "wss://play.example.com/ws");
});
