// The game socket against a real `tickwire serve` on loopback.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import {
  Connection, InterpolationBuffer, Predictor, ProtocolError, SchemaMirror, ServerError, type Entity, type FieldValue, type GameState, type ClosedEvent, type ConnectionOptions, type Vec2,
} from "../src/index.js";
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import * as pb from "../src/gen/tickwire/v1/tickwire_pb.js";
import { startProxy } from "./proxy.js";
import { startServer, type TestServer } from "./server.js";
import { roomId, states, waitFor } from "./util.js";

let srv: TestServer;
const open: Connection[] = [];

before(async () => {
  srv = await startServer(["--rejoin-grace", "30s"]);
});

after(async () => {
  for (const c of open) await c.close();
  await srv.stop();
});

function conn(room: string, name: string, extra: Partial<ConnectionOptions<SchemaMirror>> = {}): Connection<SchemaMirror> {
  const c = new Connection<SchemaMirror>({ url: srv.ws, roomId: room, name, ...extra });
  open.push(c);
  return c;
}

/** An arena entity's position (its `pos` field, in 1/16 world unit). */
function pos(e: Entity): Vec2 {
  return e.vec2("pos")!;
}

/** The arena direction toward the nearest orb, each axis in {-1, 0, 1}. */
function towardNearestOrb(m: SchemaMirror, self: number): { dx: number; dy: number } {
  const ent = m.entity(self);
  if (!ent) return { dx: 0, dy: 0 };
  const me = pos(ent);
  let best: Vec2 | undefined;
  let bestD = Infinity;
  for (const e of m.entities) {
    if (e.kindName !== "orb") continue;
    const p = pos(e);
    const d = (p.x - me.x) ** 2 + (p.y - me.y) ** 2;
    if (d < bestD) [best, bestD] = [p, d];
  }
  if (!best) return { dx: 0, dy: 0 };
  const axis = (d: number) => (Math.abs(d) < 40 ? 0 : Math.sign(d)); // 40 = 2.5 world units
  return { dx: axis(best.x - me.x), dy: axis(best.y - me.y) };
}

test("three clients join an open room and mirror it with 0 checksum mismatches", async () => {
  const room = roomId("mirror");
  const cs = [conn(room, "a"), conn(room, "b"), conn(room, "c")];
  const checksums = cs.map(() => new Map<number, number>());
  cs.forEach((c, i) => c.on("state", ({ tick, mirror }) => checksums[i]!.set(tick, mirror.checksum)));
  const welcomes = [];
  for (const c of cs) welcomes.push(await c.connect());
  assert.deepEqual(new Set(welcomes.map((w) => w.playerId)).size, 3);
  // Each walks a different way, so the deltas carry moving players.
  cs[0]!.sendInput({ dx: 1, dy: 0 });
  cs[1]!.sendInput({ dx: 0, dy: 1 });
  cs[2]!.sendInput({ dx: -1, dy: -1 });
  await Promise.all(cs.map((c) => states(c, 60)));
  for (const c of cs) {
    assert.equal(c.stats.checksumMismatches, 0);
    assert.equal(c.stats.badFrames, 0);
    assert.equal(c.stats.resyncs, 0);
    assert.ok(c.stats.framesVerified >= 60);
    assert.equal(c.mirror!.players.length, 3);
    assert.equal(c.mirror!.entities.filter((e) => e.kindName === "orb").length, 48);
  }
  // Every client holds the same state at the same tick.
  let common = 0;
  for (const [tick, sum] of checksums[0]!) {
    for (const m of checksums.slice(1)) {
      const other = m.get(tick);
      if (other !== undefined) {
        assert.equal(other, sum, `tick ${tick}`);
        common++;
      }
    }
  }
  assert.ok(common >= 50, `${common} ticks in common`);
});

test("inputs are acknowledged, the predictor drains, and the avatar moves the way it was sent", async () => {
  const c = conn(roomId("predict"), "p");
  const w = await c.connect();
  const start = pos(c.mirror!.entity(w.entityId)!);
  type Pos = { x: number; y: number };
  // The arena moves a player 5 units (80 wire units) a tick in its latest
  // direction; the predictor's step applies an input's direction for a tick.
  const predictor = new Predictor<Pos, { dx: number; dy: number }>((s, i) => ({ x: s.x + 80 * i.dx, y: s.y + 80 * i.dy }));
  const acks: number[] = [];
  c.on("ack", ({ seq }) => acks.push(seq));
  let sent = 0;
  const done = waitFor(c, "ack", ({ seq }) => seq >= 5, 15000, "the ack of input 5");
  c.on("state", ({ mirror }) => {
    predictor.reconcile(pos(mirror.entity(w.entityId)!), c.lastAck);
    if (sent < 5 && mirror.tick % 2 === 0) {
      const input = { dx: 1, dy: sent % 2 };
      predictor.push(c.sendInput(input), input);
      sent++;
    }
  });
  await done;
  assert.deepEqual(acks.at(-1), 5);
  assert.ok(acks.every((a, i) => i === 0 || a > acks[i - 1]!), `acks rise: ${acks}`);
  await states(c, 2);
  assert.equal(predictor.unacked.length, 0);
  const now = pos(c.mirror!.entity(w.entityId)!);
  assert.ok(now.x > start.x, `moved +x: ${start.x} -> ${now.x}`);
  assert.equal(c.stats.checksumMismatches, 0);
});

test("a dropped network reconnects with the resume token and keeps seat, entity and score", async () => {
  const proxy = await startProxy(srv.port);
  try {
    const c = conn(roomId("resume"), "r", { url: proxy.url, reconnect: { initialDelayMs: 50 } });
    const w = await c.connect();
    // Chase orbs until the player has scored.
    let last = { dx: 0, dy: 0 };
    const steer = c.on("state", ({ mirror }) => {
      const d = towardNearestOrb(mirror, w.entityId);
      if (d.dx !== last.dx || d.dy !== last.dy) c.sendInput((last = d));
    });
    await waitFor(c, "state", ({ mirror }) => mirror.player(w.playerId)!.score >= 1, 60000, "a score");
    steer();
    c.sendInput({ dx: 0, dy: 0 });
    await waitFor(c, "ack", ({ seq }) => seq === c.lastSeq);
    await states(c, 2);
    const score = c.mirror!.player(w.playerId)!.score;
    const seqBefore = c.lastSeq;

    const disconnected = waitFor(c, "disconnected");
    const resumed = waitFor(c, "welcome", (e) => e.resumed, 15000, "the resumed welcome");
    proxy.dropAll();
    const d = await disconnected;
    assert.equal(d.reconnecting, true);
    assert.equal(d.code, 1006);
    const again = await resumed;
    assert.equal(again.playerId, w.playerId);
    assert.equal(again.entityId, w.entityId);
    // The score came back with the seat (a new seat starts at 0). It may be
    // higher: a stopped avatar still collects an orb that wanders into it
    // until the server sees the drop.
    assert.ok(c.mirror!.player(w.playerId)!.score >= score, `score ${c.mirror!.player(w.playerId)!.score}, was ${score}`);
    assert.equal(c.stats.reconnects, 1);
    assert.equal(c.mirror!.players.length, 1, "no second player was seated");
    // Inputs go on numbered above what the server applied, and are acked.
    const seq = c.sendInput({ dx: -1, dy: 0 });
    assert.ok(seq > seqBefore);
    await waitFor(c, "ack", (e) => e.seq === seq);
    assert.equal(c.stats.checksumMismatches, 0);
  } finally {
    await proxy.close();
  }
});

test("a rejoin from elsewhere ends this connection with REPLACED and it does not reconnect", async () => {
  const room = roomId("replaced");
  const a = conn(room, "a");
  const wa = await a.connect();
  let attempts = 0;
  a.on("reconnecting", () => attempts++);
  const closed = waitFor(a, "closed");
  const b = conn(room, "ignored", { resumeToken: a.resumeToken! });
  const wb = await b.connect();
  assert.equal(wb.resumed, true);
  assert.equal(wb.playerId, wa.playerId);
  const ev: ClosedEvent = await closed;
  assert.equal(ev.reason, "replaced");
  assert.equal(ev.code, 4015);
  assert.ok(ev.error instanceof ServerError);
  assert.equal((ev.error as ServerError).codeName, "REPLACED");
  // b plays on in the seat; a stays closed.
  await states(b, 10);
  assert.equal(attempts, 0);
  assert.equal(a.connected, false);
  assert.equal(b.mirror!.players.length, 1);
});

test("reconnecting stops with resume_expired when the seat is gone meanwhile", async () => {
  const proxy = await startProxy(srv.port);
  try {
    const room = roomId("expired");
    const a = conn(room, "a", { url: proxy.url, reconnect: { initialDelayMs: 50, maxDelayMs: 200, maxAttempts: 1000 } });
    await a.connect();
    const closed = waitFor(a, "closed");
    // The network goes down and stays down for a while...
    proxy.refuse(true);
    const failing = waitFor(a, "reconnecting", (e) => e.attempt >= 3);
    proxy.dropAll();
    await failing;
    // ...meanwhile the seat is taken back elsewhere and left for good.
    const b = conn(room, "b", { resumeToken: a.resumeToken! });
    await b.connect();
    await b.leave();
    proxy.refuse(false);
    const ev = await closed;
    assert.equal(ev.reason, "resume_expired");
    assert.equal(ev.code, 4014);
    assert.equal((ev.error as ServerError).codeName, "RESUME_EXPIRED");
  } finally {
    await proxy.close();
  }
});

test("a corrupted mirror is caught by the checksum, resynced from a snapshot, and counted", async () => {
  const c = conn(roomId("resync"), "s");
  await c.connect();
  await states(c, 3);
  const resync = waitFor(c, "resync");
  const snap = waitFor(c, "state", (e) => e.kind === "snapshot", 15000, "the resync snapshot");
  c.mirror!.entities[0]!.values[0]! += 1; // what a bug in a game's own code could do
  const r = await resync;
  assert.equal(r.fault, "checksum");
  await snap;
  await states(c, 5);
  assert.equal(c.stats.checksumMismatches, 1);
  assert.equal(c.stats.resyncs, 1);
  assert.ok(c.mirror!.synced);
});

test("a forged join ticket is refused with a typed UNAUTHORIZED error", async () => {
  const c = conn(roomId("forged"), "f", { ticket: "forged.ticket" });
  const closed = waitFor(c, "closed");
  await assert.rejects(c.connect(), (e: unknown) => e instanceof ServerError && e.codeName === "UNAUTHORIZED");
  const ev = await closed;
  assert.equal(ev.reason, "error");
  assert.equal(ev.code, 4005);
});

test("pings give a server clock and an interpolation buffer samples between real frames", async () => {
  const c = conn(roomId("clock"), "k", { pingIntervalMs: 200 });
  const w = await c.connect();
  await waitFor(c, "pong");
  assert.ok(c.clock.measured);
  assert.ok(Number.isFinite(c.clock.rttMs));
  // Same machine: the offset is the estimate's error, far under a second.
  assert.ok(Math.abs(c.clock.offsetUs) < 1_000_000, `offset ${c.clock.offsetUs} µs`);
  const buf = new InterpolationBuffer<GameState>(c.schedule!, { delayMs: 100 });
  c.on("state", ({ tick, mirror }) => buf.push(tick, mirror.state()));
  await states(c, 10);
  const s = buf.sample(c.clock.serverNowUs())!;
  assert.ok(s, "a sample");
  assert.ok(s.from.tick <= s.to.tick);
  assert.ok(s.t >= 0 && s.t <= 1);
  assert.ok(s.from.state.entities.has(w.entityId));
  // The estimated server tick is near the mirror's.
  const estimated = c.schedule!.tickAt(c.clock.serverNowUs());
  assert.ok(Math.abs(estimated - c.mirror!.tick) < 40, `estimated tick ${estimated}, mirror ${c.mirror!.tick}`);
});

test("leave() frees the seat: the resume token no longer works", async () => {
  const room = roomId("leave");
  const a = conn(room, "a");
  await a.connect();
  const ev = await a.leave();
  assert.equal(ev.reason, "left");
  assert.equal(ev.code, 1000);
  const b = conn(room, "b", { resumeToken: a.resumeToken! });
  await assert.rejects(b.connect(), (e: unknown) => e instanceof ServerError && e.codeName === "RESUME_EXPIRED");
});

test("the end of a match arrives as a matchEnd event and a match_ended close, with no reconnect", async () => {
  const short = await startServer(["--match-duration", "1s"]);
  try {
    const c = new Connection<SchemaMirror>({ url: short.ws, roomId: roomId("end"), name: "e" });
    let attempts = 0;
    c.on("reconnecting", () => attempts++);
    const ended = waitFor(c, "matchEnd");
    const closed = waitFor(c, "closed");
    const w = await c.connect();
    const end = await ended;
    assert.equal(end.scores.length, 1);
    assert.equal(end.scores[0]!.playerId, w.playerId);
    assert.equal(end.scores[0]!.rank, 1);
    assert.equal(end.verified, true, "the final state's checksum is checked");
    const ev = await closed;
    assert.equal(ev.reason, "match_ended");
    assert.equal(ev.code, 1000);
    assert.equal(attempts, 0);
    assert.equal(c.stats.checksumMismatches, 0);
  } finally {
    await short.stop();
  }
});

test("a server that never answers the join ends connect() with a network close after the join timeout", async () => {
  const sockets = new Set<import("node:net").Socket>();
  const silent = (await import("node:net")).createServer((s) => sockets.add(s)); // accepts, says nothing
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  const port = (silent.address() as import("node:net").AddressInfo).port;
  try {
    const c = new Connection({ url: `ws://127.0.0.1:${port}`, roomId: "silent", name: "s", joinTimeoutMs: 300 });
    const closed = waitFor(c, "closed");
    await assert.rejects(c.connect());
    const ev = await closed;
    assert.equal(ev.reason, "network");
    assert.equal(c.connected, false);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => silent.close(r));
  }
});

test("change callbacks rebuild the state exactly, across players joining and leaving and a forced resync", async () => {
  const room = roomId("changes");
  const c = conn(room, "cb");
  const scene = new Map<number, Record<string, FieldValue>>();
  const scores = new Map<number, number>();
  const counts = { added: 0, removed: 0, changed: 0, joined: 0, left: 0, room: 0, unverified: 0 };
  let corrupted = false;
  c.on("resync", () => (corrupted = false));
  let offChanged: (() => void) | undefined;
  c.once("welcome", () => {
    const m = c.mirror!;
    m.on("entityAdded", ({ entity }) => {
      scene.set(entity.id, entity.fields());
      counts.added++;
    });
    m.on("entityRemoved", ({ entity }) => {
      scene.delete(entity.id);
      counts.removed++;
    });
    offChanged = m.on("entityChanged", ({ entity, field, value }) => {
      scene.get(entity.id)![field] = value;
      counts.changed++;
      if (corrupted) counts.unverified++; // between the corruption and the refused frame
    });
    m.on("playerJoined", ({ player }) => {
      scores.set(player.id, player.score);
      counts.joined++;
    });
    m.on("playerLeft", ({ player }) => {
      scores.delete(player.id);
      counts.left++;
    });
    m.on("playerChanged", ({ player, field, value }) => {
      if (field === "score") scores.set(player.id, value as number);
    });
    m.on("roomChanged", () => counts.room++);
  });
  await c.connect();
  const other = conn(room, "o");
  await other.connect();
  c.sendInput({ dx: 1, dy: 0 });
  await states(c, 20);
  await other.leave();
  await states(c, 5);
  // A corruption the next checksum catches: no callback may report it, and
  // the snapshot that repairs the mirror reports only the real difference.
  const resynced = waitFor(c, "state", (e) => e.kind === "snapshot", 15000, "the resync snapshot");
  c.mirror!.entities[5]!.values[0]! += 3;
  corrupted = true;
  await resynced;
  await states(c, 5);

  const m = c.mirror!;
  assert.equal(c.stats.resyncs, 1);
  assert.equal(counts.unverified, 0, "a callback fired for a frame that failed its checksum");
  assert.deepEqual([...scene.keys()], m.entities.map((e) => e.id));
  for (const e of m.entities) assert.deepEqual(scene.get(e.id), e.fields(), `entity ${e.id}`);
  assert.deepEqual([...scores.entries()].sort(), m.players.map((p) => [p.id, p.score]).sort());
  assert.ok(counts.added >= 50, `${counts.added} added: 48 orbs and two avatars`);
  assert.ok(counts.changed > 100, `${counts.changed} changes`);
  assert.equal(counts.joined, 2);
  assert.equal(counts.left, 1);
  assert.ok(counts.removed >= 1, "the avatar of the player who left");
  // The unsubscribe function stops the callback.
  offChanged!();
  const before = counts.changed;
  await states(c, 5);
  assert.equal(counts.changed, before);
});

test("close() holds the seat: a new connection with the saved resume token takes it back (a page reload)", async () => {
  const room = roomId("reload");
  const a = conn(room, "a");
  const wa = await a.connect();
  const seq = a.sendInput({ dx: 0, dy: 1 });
  await waitFor(a, "ack", (e) => e.seq === seq);
  const token = a.resumeToken!;
  const ev = await a.close();
  assert.equal(ev.reason, "closed");
  const b = conn(room, "ignored", { resumeToken: token });
  const wb = await b.connect();
  assert.equal(wb.resumed, true);
  assert.equal(wb.playerId, wa.playerId);
  assert.equal(wb.entityId, wa.entityId);
  // The new connection numbers its inputs above what the seat had applied.
  assert.equal(b.lastAck, seq);
  assert.ok(b.sendInput({ dx: 0, dy: 0 }) > seq);
  assert.equal(b.mirror!.players.length, 1);
});

test("inputs are named by the room's schema: a field the arena lacks is refused before anything is sent", async () => {
  const c = conn(roomId("schema-input"), "i");
  await c.connect();
  const schema = c.schema!;
  assert.deepEqual(schema.input.fields.map((f) => f.name), ["dx", "dy"]);
  assert.deepEqual(schema.kinds.map((k) => k.name), ["avatar", "orb"]);
  const seq = c.lastSeq;
  assert.throws(() => c.sendInput({ jump: 1 }), /input field "jump" is not in the schema \(dx, dy\)/);
  assert.equal(c.lastSeq, seq, "a refused input uses up no seq");
  assert.equal(c.stats.inputsSent, 0);
  const s = c.sendInput({ dx: -1 });
  await waitFor(c, "ack", (e) => e.seq === s);
  await states(c, 3);
  assert.equal(c.stats.checksumMismatches, 0);
});

test("a game message reaches the server as a GameMessage: the arena, which takes none, closes with BAD_FRAME", async () => {
  const c = conn(roomId("message"), "m", { reconnect: false });
  await c.connect();
  assert.throws(() => c.sendMessage(0), RangeError);
  const closed = waitFor(c, "closed");
  assert.equal(c.sendMessage(1, new Uint8Array([1, 2, 3])), true);
  const ev = await closed;
  assert.equal(ev.reason, "error");
  assert.equal(ev.code, 4001);
  assert.equal((ev.error as ServerError).codeName, "BAD_FRAME");
  assert.match(ev.error!.message, /message/i);
  assert.equal(c.sendMessage(1), false, "not sent once closed");
});

/**
 * A server of our own on loopback that answers a join with the given frames,
 * for what tickwire serve's games never send (a bad schema, a score past
 * 2^53) or send only to one player at a time (game events: games.test.ts
 * plays connect4's refusals against the real server).
 */
async function scriptedServer(
  frames: MessageInitShape<typeof pb.ServerFrameSchema>[],
  onResync?: () => MessageInitShape<typeof pb.ServerFrameSchema>,
  closeWith?: number,
): Promise<{ url: string; resyncs: () => number; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => wss.once("listening", r));
  let resyncs = 0;
  wss.on("connection", (ws) => {
    let joined = false;
    ws.on("message", (data: Buffer) => {
      const frame = fromBinary(pb.ClientFrameSchema, new Uint8Array(data));
      if (!joined && frame.body.case === "join") {
        joined = true;
        for (const f of frames) ws.send(toBinary(pb.ServerFrameSchema, create(pb.ServerFrameSchema, f)));
        if (closeWith) ws.close(closeWith);
      } else if (frame.body.case === "resync" && onResync) {
        resyncs++;
        ws.send(toBinary(pb.ServerFrameSchema, create(pb.ServerFrameSchema, onResync())));
      }
    });
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    resyncs: () => resyncs,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}

const EMPTY_CHECKSUM = 0x811c9dc5;

test("a Welcome whose schema cannot be decoded ends connect() with a ProtocolError naming the field", async () => {
  const schema = create(pb.SchemaSchema, {
    roomFields: [create(pb.FieldSpecSchema, { name: "round", type: pb.FieldType.INT }), create(pb.FieldSpecSchema, { name: "round", type: pb.FieldType.INT })],
  });
  const fake = await scriptedServer([
    { body: { case: "welcome", value: { playerId: 1, entityId: 1, roomId: "bad", tickRate: 20, schema, snapshot: { tick: 1n, checksum: EMPTY_CHECKSUM } } } },
  ]);
  try {
    const c = new Connection({ url: fake.url, roomId: "bad", name: "b" });
    const closed = waitFor(c, "closed");
    await assert.rejects(c.connect(), (e: unknown) => e instanceof ProtocolError && /room: field "round" declared twice/.test(e.message));
    const ev = await closed;
    assert.equal(ev.reason, "error");
    assert.equal(c.mirror, undefined);
  } finally {
    await fake.close();
  }
});

test("game events arrive in order, each after the state of the tick it came with", async () => {
  const enc = new TextEncoder();
  const fake = await scriptedServer([
    { body: { case: "welcome", value: { playerId: 1, entityId: 0, roomId: "ev", tickRate: 20, schema: {}, snapshot: { tick: 1n, checksum: EMPTY_CHECKSUM } } } },
    { body: { case: "events", value: { tick: 1n, messages: [{ op: 7, data: enc.encode("a") }, { op: 8, data: enc.encode("b") }] } } },
    { body: { case: "delta", value: { tick: 2n, baseTick: 1n, checksum: EMPTY_CHECKSUM } } },
    { body: { case: "events", value: { tick: 2n, messages: [{ op: 9 }] } } },
  ]);
  try {
    const c = new Connection({ url: fake.url, roomId: "ev", name: "e", reconnect: false, pingIntervalMs: 0 });
    const seen: string[] = [];
    c.on("state", ({ tick }) => seen.push(`state ${tick}`));
    c.on("event", ({ tick, op, data }) => seen.push(`event ${tick} op ${op} ${new TextDecoder().decode(data)}`));
    const last = waitFor(c, "event", (e) => e.op === 9);
    await c.connect();
    await last;
    assert.deepEqual(seen, ["state 1", "event 1 op 7 a", "event 1 op 8 b", "state 2", "event 2 op 9 "]);
    assert.equal(c.stats.eventsIn, 3);
    assert.equal(c.stats.checksumMismatches, 0);
    await c.close();
  } finally {
    await fake.close();
  }
});

test("a mirror that refuses three snapshots in a row gives up with reason error instead of asking forever", async () => {
  // A score past 2^53: the SDK refuses it rather than round it, in every snapshot.
  const snapshot = { tick: 1n, players: [{ id: 1, name: "big", score: 2n ** 60n }], checksum: EMPTY_CHECKSUM };
  const fake = await scriptedServer(
    [{ body: { case: "welcome", value: { playerId: 1, entityId: 0, roomId: "big", tickRate: 20, schema: {}, snapshot } } }],
    () => ({ body: { case: "snapshot", value: snapshot } }),
  );
  try {
    const c = new Connection({ url: fake.url, roomId: "big", name: "b", pingIntervalMs: 0 });
    const closed = waitFor(c, "closed");
    const resyncs: string[] = [];
    c.on("resync", (e) => resyncs.push(e.fault));
    await c.connect();
    const ev = await closed;
    assert.equal(ev.reason, "error");
    assert.ok(ev.error instanceof ProtocolError);
    assert.match(ev.error.message, /3 snapshots in a row refused.*safe integer range/);
    assert.deepEqual(resyncs, ["malformed", "malformed"]);
    assert.equal(fake.resyncs(), 2);
    assert.equal(c.stats.badFrames, 3);
    assert.equal(c.stats.framesVerified, 0);
  } finally {
    await fake.close();
  }
});

test("chat: a line reaches every player in the room, its sender included, cleaned by the server and in order", async () => {
  const room = roomId("chat");
  const a = conn(room, "Alice");
  const b = conn(room, "Bob");
  const wa = await a.connect();
  await b.connect();
  const heard = (c: Connection<SchemaMirror>) => {
    const lines: string[] = [];
    const done = waitFor(c, "chat", (e) => lines.push(`${e.playerId} ${e.name}: ${e.text}`) === 2, 15000, "two chat lines");
    return { lines, done };
  };
  const ha = heard(a), hb = heard(b);
  assert.equal(a.sendChat("  hello\u0007 world\u200b  "), true);
  assert.equal(a.sendChat("second"), true);
  assert.equal(a.sendChat("   "), false, "an empty line is not sent");
  await Promise.all([ha.done, hb.done]);
  const want = [`${wa.playerId} Alice: hello world`, `${wa.playerId} Alice: second`];
  assert.deepEqual(ha.lines, want);
  assert.deepEqual(hb.lines, want);
  assert.equal(a.stats.chatSent, 2);
  assert.equal(b.stats.chatIn, 2);
  assert.equal(a.stats.checksumMismatches + b.stats.checksumMismatches, 0);
});

test("a game's own refusal and its own end of the match reach the game with the game's codes", async () => {
  const refusing = await scriptedServer(
    [{ body: { case: "error", value: { code: pb.ErrorCode.JOIN_REFUSED, message: "both teams are full", reason: "team_full" } } }],
    undefined,
    4017,
  );
  try {
    const c = new Connection({ url: refusing.url, roomId: "full", name: "r" });
    await assert.rejects(c.connect(), (e: unknown) =>
      e instanceof ServerError && e.codeName === "JOIN_REFUSED" && e.reason === "team_full" && /both teams are full/.test(e.message));
  } finally {
    await refusing.close();
  }
  const ending = await scriptedServer([
    { body: { case: "welcome", value: { playerId: 1, entityId: 0, roomId: "end", tickRate: 20, schema: {}, snapshot: { tick: 1n, checksum: EMPTY_CHECKSUM } } } },
    { body: { case: "delta", value: { tick: 2n, baseTick: 1n, phase: pb.MatchPhase.ENDED, checksum: EMPTY_CHECKSUM } } },
    { body: { case: "matchEnd", value: { tick: 2n, reason: pb.MatchEndReason.GAME, detail: "last_team_standing", checksum: EMPTY_CHECKSUM } } },
  ], undefined, 1000);
  try {
    const c = new Connection({ url: ending.url, roomId: "end", name: "e", pingIntervalMs: 0 });
    const ended = waitFor(c, "matchEnd");
    const closed = waitFor(c, "closed");
    await c.connect();
    const ev = await ended;
    assert.equal(ev.reason, pb.MatchEndReason.GAME);
    assert.equal(ev.detail, "last_team_standing");
    assert.equal(ev.verified, true);
    assert.equal((await closed).reason, "match_ended");
  } finally {
    await ending.close();
  }
});

test("an open room's first join names its game; another game is refused with GAME_MISMATCH, an unknown one with UNKNOWN_GAME", async () => {
  const room = roomId("named");
  const first = conn(room, "a", { game: "connect4", reconnect: false });
  const w = await first.connect();
  assert.equal(w.match?.mode, "connect4");
  assert.ok(first.schema!.room.fields.some((f) => f.name === "r0c0"));
  const other = conn(room, "b", { game: "tanks", reconnect: false });
  await assert.rejects(other.connect(), (e: unknown) => e instanceof ServerError && e.codeName === "GAME_MISMATCH" && e.message.includes("plays connect4"));
  const unknown = conn(roomId("chess"), "c", { game: "chess", reconnect: false });
  await assert.rejects(unknown.connect(), (e: unknown) => e instanceof ServerError && e.codeName === "UNKNOWN_GAME" && e.message.includes("arena, connect4, tanks"));
});
