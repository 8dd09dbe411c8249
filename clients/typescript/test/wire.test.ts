// The delta reader of the hot path (src/wire.ts) against the generated code:
// both must give the same numbers for every field of a Delta.

import assert from "node:assert/strict";
import { test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { DeltaSchema, MatchPhase, ServerFrameSchema, type Delta } from "../src/gen/tickwire/v1/tickwire_pb.js";
import { MirrorError } from "../src/index.js";
import { deltaFrame, readDeltaFrame } from "../src/wire.js";

function frameBytes(d: Delta): Uint8Array {
  return toBinary(ServerFrameSchema, create(ServerFrameSchema, { body: { case: "delta", value: d } }));
}

/** A Delta with every field set, values at every size up to 2^64 - 1. */
function fullDelta(): Delta {
  const big = [0n, 1n, 127n, 128n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];
  return create(DeltaSchema, {
    tick: 2n ** 40n + 7n, baseTick: 2n ** 40n + 6n, removed: [1, 300, 2 ** 32 - 1],
    updates: { idGaps: [5, 1, 200], masks: [3n, 2n ** 40n, 2n ** 64n - 1n], values: big, texts: ["a", "héllo", ""] },
    created: { ids: [7, 8], kinds: [1, 2], values: [...big].reverse(), texts: ["x"] },
    playersJoined: [{ id: 9, name: "nine", entityId: 7, score: -5n, values: [4n], texts: ["t"] }],
    playersLeft: [3], scorePlayers: [9, 10, 11], scores: [-1n, 2n ** 53n - 1n, -(2n ** 53n) + 1n],
    ackPlayers: [9], ackSeqs: [2 ** 32 - 1], phase: MatchPhase.RUNNING, endTick: 1200n, checksum: 0xdeadbeef,
    playerUpdates: { all: true, masks: [1n], values: [2n ** 53n + 1n] },
    room: { mask: 2n ** 63n + 1n, values: [9n, 2n ** 60n], texts: ["r"] },
  });
}

test("wire: a delta read into numbers equals the generated code's, field by field, bigints past 2^53 kept exact", () => {
  const d = fullDelta();
  const fast = readDeltaFrame(frameBytes(d));
  assert.ok(fast, "a delta frame");
  const slow = deltaFrame(d);
  // Joined players are decoded by the generated code in both.
  assert.deepEqual({ ...fast, playersJoined: [] }, { ...slow, playersJoined: [] });
  assert.equal(fast.playersJoined[0]!.name, "nine");
  assert.equal(fast.playersJoined[0]!.score, -5n);
  // Values past 2^53 are NaN with their exact value beside them.
  assert.ok(Number.isNaN(fast.updates!.values.nums[8]!));
  assert.equal(fast.updates!.values.big!.get(10), 2n ** 64n - 1n);
  assert.equal(fast.updates!.masks.big!.get(2), 2n ** 64n - 1n);
  assert.equal(fast.room!.mask.big!.get(0), 2n ** 63n + 1n);
  assert.deepEqual(fast.scores, [-1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);
  assert.equal(fast.checksum, 0xdeadbeef);
  // An empty delta, and an idle one.
  assert.deepEqual(readDeltaFrame(frameBytes(create(DeltaSchema, {}))), deltaFrame(create(DeltaSchema, {})));
  const idle = create(DeltaSchema, { tick: 11n, baseTick: 10n, checksum: 1 });
  assert.deepEqual(readDeltaFrame(frameBytes(idle)), deltaFrame(idle));
});

test("wire: other frames are left to the generated code; unknown fields are skipped; a broken frame is refused", () => {
  assert.equal(readDeltaFrame(toBinary(ServerFrameSchema, create(ServerFrameSchema, { body: { case: "pong", value: {} } }))), undefined);
  // An unknown field (number 99, varint and length-delimited) inside the Delta, as a later server may add.
  const d = create(DeltaSchema, { tick: 11n, baseTick: 10n, removed: [4], checksum: 7 });
  const inner = toBinary(DeltaSchema, d);
  const extra = [0x98, 0x06, 0x2a, 0x9a, 0x06, 0x02, 0x01, 0x02]; // 99: varint 42; 99: bytes [1, 2]
  const body = [...inner, ...extra];
  const frame = new Uint8Array([0x12, body.length, ...body]);
  assert.deepEqual(readDeltaFrame(frame), deltaFrame(d));
  // Truncated: the length says more than there is.
  const cut = frameBytes(fullDelta()).slice(0, 40);
  const r = (() => {
    try {
      return readDeltaFrame(cut);
    } catch (e) {
      return e;
    }
  })();
  assert.ok(r === undefined || r instanceof MirrorError, String(r));
  // An empty packed field (length 0) holds no values; an unpacked one holds one.
  const updates = [0x4a, 0x00, 0x48, 0x05]; // EntityUpdates: values packed [], then values 5 unpacked
  const withEmpty = new Uint8Array([0x12, 2 + updates.length, 0x22, updates.length, ...updates]);
  assert.deepEqual(readDeltaFrame(withEmpty)!.updates!.values.nums, [5]);
  const bad = new Uint8Array([0x12, 3, 0x08, 0xff, 0xff]); // tick: a varint that never ends
  assert.throws(() => readDeltaFrame(bad), MirrorError);
});
