// Spectators (Join.spectate) against a real `tickwire serve` on loopback:
// a spectator mirrors what the players see, sends nothing only a player may,
// reconnects by joining again, and is refused past --max-spectators.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  Connection, ServerError, SpectatorError, defaultWebSocket, type ConnectionOptions, type SchemaMirror, type SocketLike, type WebSocketConstructor,
} from "../src/index.js";
import { ClientFrameSchema } from "../src/gen/tickwire/v1/tickwire_pb.js";
import { startProxy } from "./proxy.js";
import { startServer, type TestServer } from "./server.js";
import { recordStates, roomId, sameStates, states, waitFor } from "./util.js";

let srv: TestServer;
const open: Connection[] = [];

before(async () => {
  srv = await startServer();
});

after(async () => {
  for (const c of open) await c.close();
  await srv.stop();
});

function conn(room: string, name: string, extra: Partial<ConnectionOptions<SchemaMirror>> = {}, url = srv.ws): Connection<SchemaMirror> {
  const c = new Connection<SchemaMirror>({ url, roomId: room, name, ...extra });
  open.push(c);
  return c;
}

test("a spectator mirrors the player's state tick for tick, with no seat and 0 checksum mismatches", async () => {
  const room = roomId("watch");
  const player = conn(room, "ann");
  const pw = await player.connect();
  assert.equal(player.spectator, false);
  assert.equal(pw.spectator, false);
  const spec = conn(room, "", { spectate: true });
  assert.equal(spec.spectator, true, "asked for before the welcome");
  const seenP = recordStates(player), seenS = recordStates(spec);
  const sw = await spec.connect();
  assert.equal(spec.spectator, true);
  assert.equal(sw.spectator, true);
  assert.equal(sw.playerId, 0);
  assert.equal(sw.entityId, 0);
  assert.equal(sw.resumed, false);
  assert.equal(spec.resumeToken, undefined, "a spectator has no seat to take back");
  // The player walks, so the deltas carry a moving avatar.
  player.sendInput({ dx: 1, dy: 1 });
  await states(spec, 60);
  await states(player, 2);
  const common = sameStates(seenP, seenS);
  assert.ok(common >= 55, `${common} ticks in common`);
  for (const c of [player, spec]) {
    assert.equal(c.stats.checksumMismatches, 0);
    assert.equal(c.stats.badFrames, 0);
    assert.equal(c.stats.resyncs, 0);
  }
  // No seat: the room holds the player alone, and the spectator's mirror says so.
  assert.deepEqual(spec.mirror!.players.map((p) => p.id), [pw.playerId]);
  assert.equal(spec.mirror!.entities.filter((e) => e.kindName === "avatar").length, 1);
});

test("a spectator's input, game message and chat throw a SpectatorError and send nothing", async () => {
  const room = roomId("watch-refused");
  const player = conn(room, "bo");
  await player.connect();
  const spec = conn(room, "", { spectate: true });
  await spec.connect();
  const heard: string[] = [];
  player.on("chat", (e) => heard.push(e.text));
  const refused = (f: () => unknown) =>
    assert.throws(f, (e: unknown) => e instanceof SpectatorError && e.code === 18 && e.codeName === "SPECTATOR" && /nothing was sent/.test(e.message));
  refused(() => spec.sendInput({ dx: 1, dy: 0 }));
  refused(() => spec.sendMessage(1, new Uint8Array([3])));
  refused(() => spec.sendChat("hello"));
  assert.equal(spec.lastSeq, 0, "a refused input uses up no seq");
  assert.deepEqual([spec.stats.inputsSent, spec.stats.messagesSent, spec.stats.chatSent], [0, 0, 0]);
  // The player's own chat still reaches the spectator.
  const line = waitFor(spec, "chat", (e) => e.text === "hi all");
  player.sendChat("hi all");
  await line;
  await states(spec, 5);
  assert.deepEqual(heard, ["hi all"]);
  assert.equal(spec.connected, true);
  assert.equal(spec.stats.checksumMismatches, 0);
});

test("the server's Error{SPECTATOR} arrives as a serverError event and the connection plays on", async () => {
  const room = roomId("watch-server-refusal");
  const player = conn(room, "cy");
  await player.connect();
  // Reach past the SDK's own refusal: send the frames on its socket directly.
  const Base = await defaultWebSocket();
  const sockets: SocketLike[] = [];
  const Capturing = function (url: string) {
    const s = new Base(url);
    sockets.push(s);
    return s;
  } as unknown as WebSocketConstructor;
  const spec = conn(room, "", { spectate: true, WebSocket: Capturing });
  await spec.connect();
  const errors: ServerError[] = [];
  spec.on("serverError", (e) => errors.push(e));
  let closed = false;
  spec.on("closed", () => (closed = true));
  const twice = waitFor(spec, "serverError", () => errors.length === 2);
  const raw = (body: Parameters<typeof create<typeof ClientFrameSchema>>[1]) => sockets[0]!.send(toBinary(ClientFrameSchema, create(ClientFrameSchema, body)));
  raw({ body: { case: "chat", value: { text: "sneaky" } } });
  raw({ body: { case: "message", value: { op: 1, data: new Uint8Array([1]) } } });
  await twice;
  for (const e of errors) {
    assert.ok(e instanceof ServerError);
    assert.equal(e.codeName, "SPECTATOR");
  }
  assert.match(errors[0]!.message, /chat/);
  assert.match(errors[1]!.message, /game message/);
  await states(spec, 10);
  assert.equal(closed, false);
  assert.equal(spec.connected, true);
  assert.equal(spec.stats.checksumMismatches, 0);
  assert.equal(spec.mirror!.players.length, 1);
});

test("a dropped spectator reconnects by joining again as a spectator, and mirrors on", async () => {
  const proxy = await startProxy(srv.port);
  try {
    const room = roomId("watch-reconnect");
    const player = conn(room, "di");
    const pw = await player.connect();
    const spec = conn(room, "", { spectate: true, reconnect: { initialDelayMs: 50 } }, proxy.url);
    await spec.connect();
    await states(spec, 3);
    const disconnected = waitFor(spec, "disconnected");
    const again = waitFor(spec, "welcome");
    proxy.dropAll();
    const d = await disconnected;
    assert.equal(d.reconnecting, true);
    const w = await again;
    assert.equal(w.spectator, true);
    assert.equal(w.resumed, false);
    assert.equal(spec.stats.reconnects, 1);
    assert.ok(proxy.accepted >= 2);
    // Mirrored on from the new welcome's snapshot, the player's state to the tick.
    player.sendInput({ dx: -1, dy: 0 });
    const seenP = recordStates(player), seenS = recordStates(spec);
    await states(spec, 30);
    await states(player, 2);
    assert.ok(sameStates(seenP, seenS) >= 25);
    assert.equal(spec.stats.checksumMismatches, 0);
    assert.deepEqual(spec.mirror!.players.map((p) => p.id), [pw.playerId], "no seat was taken");
  } finally {
    await proxy.close();
  }
});

test("a spectator with a resume token is refused before anything is sent", () => {
  assert.throws(() => new Connection({ url: srv.ws, roomId: "r", spectate: true, resumeToken: "t" }), TypeError);
});

test("a spectator of a room that is not running is refused with ROOM_NOT_FOUND: it never starts one", async () => {
  const c = conn(roomId("watch-nothing"), "", { spectate: true });
  const closed = waitFor(c, "closed");
  await assert.rejects(c.connect(), (e: unknown) => e instanceof ServerError && e.codeName === "ROOM_NOT_FOUND");
  assert.equal((await closed).reason, "error");
});

test("past --max-spectators a spectator gets the typed close spectators_full and does not reconnect", async () => {
  const small = await startServer(["--max-spectators", "1"]);
  const mine: Connection[] = [];
  try {
    const room = roomId("watch-full");
    const make = (o: Partial<ConnectionOptions>) => {
      const c = new Connection<SchemaMirror>({ url: small.ws, roomId: room, name: "p", ...o });
      mine.push(c);
      return c;
    };
    await make({}).connect();
    const first = make({ spectate: true });
    await first.connect();
    const second = make({ spectate: true, reconnect: { initialDelayMs: 10 } });
    let attempts = 0;
    second.on("reconnecting", () => attempts++);
    const closed = waitFor(second, "closed");
    await assert.rejects(second.connect(), (e: unknown) => e instanceof ServerError && e.codeName === "SPECTATORS_FULL");
    const ev = await closed;
    assert.equal(ev.reason, "spectators_full");
    assert.equal(ev.code, 4019);
    assert.equal((ev.error as ServerError).codeName, "SPECTATORS_FULL");
    // The first spectator watches on; no attempt was made for the second.
    await states(first, 10);
    assert.equal(attempts, 0);
    assert.equal(first.connected, true);
    assert.equal(first.stats.checksumMismatches, 0);
  } finally {
    for (const c of mine) await c.close();
    await small.stop();
  }
});
