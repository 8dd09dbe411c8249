// The SDK against every game tickwire serve ships besides the arena
// (connection.test.ts plays that): tanks and connect four, each in open rooms
// of a server started with --open-game, played by players and watched by a
// spectator, every mirror verified against the server's checksum.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Connection, MatchEndReason, ServerError, type ConnectionOptions, type SchemaMirror } from "../src/index.js";
import { startServer, type TestServer } from "./server.js";
import { recordStates, roomId, sameStates, states, waitFor } from "./util.js";

/** A server whose open rooms play `game`, and connections to it closed at the end. */
function gameServer(game: string) {
  let srv: TestServer;
  const open: Connection<SchemaMirror>[] = [];
  before(async () => {
    srv = await startServer(["--open-game", game]);
  });
  after(async () => {
    for (const c of open) await c.close();
    await srv.stop();
  });
  return (room: string, name: string, extra: Partial<ConnectionOptions<SchemaMirror>> = {}) => {
    const c = new Connection<SchemaMirror>({ url: srv.ws, roomId: room, name, ...extra });
    open.push(c);
    return c;
  };
}

function clean(...cs: Connection<SchemaMirror>[]): void {
  for (const c of cs) {
    assert.equal(c.stats.checksumMismatches, 0, "checksum mismatches");
    assert.equal(c.stats.badFrames, 0, "bad frames");
    assert.equal(c.stats.resyncs, 0, "resyncs");
  }
}

describe("tanks", () => {
  const conn = gameServer("tanks");

  test("two tanks drive and fire; both players and a spectator mirror it with 0 checksum mismatches", async () => {
    const room = roomId("tanks");
    const red = conn(room, "red"), blue = conn(room, "blue");
    const rw = await red.connect();
    const bw = await blue.connect();
    assert.deepEqual(red.schema!.kinds.map((k) => k.name), ["tank", "shell"]);
    assert.deepEqual(red.schema!.input.fields.map((f) => f.name), ["turn", "throttle"]);
    const spec = conn(room, "", { spectate: true });
    const seen = [red, blue, spec].map(recordStates);
    // Shells are entities that come and go: count them as the spectator sees them.
    const shells = new Set<number>();
    let shellsGone = 0;
    spec.once("welcome", () => {
      spec.mirror!.on("entityAdded", ({ entity }) => entity.kindName === "shell" && shells.add(entity.id));
      spec.mirror!.on("entityRemoved", ({ entity }) => entity.kindName === "shell" && shellsGone++);
    });
    await spec.connect();
    const start = spec.mirror!.entity(rw.entityId)!.vec2("pos")!;
    red.sendInput({ turn: 1, throttle: 1 });
    blue.sendInput({ turn: 0, throttle: -1 });
    // Blue asks to fire every few ticks (the gun cools down 10 ticks).
    const firing = blue.on("state", ({ tick }) => tick % 5 === 0 && blue.sendMessage(1));
    await waitFor(spec, "state", () => shellsGone >= 2, 30000, "two shells fired and gone");
    firing();
    await Promise.all([red, blue, spec].map((c) => states(c, 3)));

    clean(red, blue, spec);
    assert.ok(sameStates(seen[0]!, seen[2]!) >= 20, "red and the spectator agree");
    assert.ok(sameStates(seen[1]!, seen[2]!) >= 20, "blue and the spectator agree");
    const m = spec.mirror!;
    assert.deepEqual(m.players.map((p) => p.id).sort(), [rw.playerId, bw.playerId].sort());
    assert.deepEqual(m.players.map((p) => p.num("team")).sort(), [0, 1], "one tank a team");
    assert.ok(m.room.num("round")! >= 1, "a round is on");
    const now = m.entity(rw.entityId)!.vec2("pos")!;
    assert.notDeepEqual(now, start, "the red tank drove");
    assert.ok(shells.size >= 2, `${shells.size} shells seen`);
  });
});

describe("connect4", () => {
  const conn = gameServer("connect4");
  const DROP = 1, REFUSED = 2;
  const RED = 1, YELLOW = 2;
  const drop = (c: Connection<SchemaMirror>, column: number) => c.sendMessage(DROP, new Uint8Array([column]));
  /** The refusal code of the next refusal the game sends this player. */
  const refusal = async (c: Connection<SchemaMirror>) =>
    new TextDecoder().decode((await waitFor(c, "event", (e) => e.op === REFUSED, 15000, "a refusal")).data);
  /** Waits until the board holds `moves` discs. */
  const moves = (c: Connection<SchemaMirror>, n: number) =>
    waitFor(c, "state", ({ mirror }) => mirror.room.num("moves") === n, 15000, `move ${n}`);

  test("moves change the room's fields, wrong moves get their refusal, and four in a row ends the match", async () => {
    const room = roomId("c4");
    const red = conn(room, "red"), yellow = conn(room, "yellow");
    const rw = await red.connect();
    assert.equal(red.mirror!.room.num("turn"), RED);
    assert.equal(red.mirror!.room.num("moves"), 0);
    assert.equal(red.mirror!.room.num("last"), -1);
    // Alone at the board: the move waits for an opponent.
    const alone = refusal(red);
    drop(red, 3);
    assert.equal(await alone, "waiting_for_opponent");

    const yw = await yellow.connect();
    const spec = conn(room, "", { spectate: true });
    const seen = [red, yellow, spec].map(recordStates);
    const ended = [red, yellow, spec].map((c) => waitFor(c, "matchEnd", () => true, 30000));
    const closed = [red, yellow, spec].map((c) => waitFor(c, "closed", () => true, 30000));
    await spec.connect();
    assert.equal(spec.mirror!.player(rw.playerId)!.num("color"), RED);
    assert.equal(spec.mirror!.player(yw.playerId)!.num("color"), YELLOW);

    drop(red, 3);
    await moves(spec, 1);
    const board = spec.mirror!.room;
    assert.equal(board.num("r0c3"), RED);
    assert.equal(board.num("turn"), YELLOW);
    assert.equal(board.num("last"), 3);

    // Out of turn, and off the board: refused, each to its own player, and nothing changes.
    let r = refusal(red);
    drop(red, 4);
    assert.equal(await r, "not_your_turn");
    r = refusal(yellow);
    drop(yellow, 9);
    assert.equal(await r, "no_such_column");
    await states(spec, 3);
    assert.equal(spec.mirror!.room.num("moves"), 1);
    assert.equal(spec.mirror!.room.num("r0c4"), 0);

    drop(yellow, 3);
    await moves(spec, 2);
    assert.equal(spec.mirror!.room.num("r1c3"), YELLOW, "stacked on red's disc");
    // Red fills column 0 while yellow plays column 1: red's fourth wins.
    let n = 2;
    for (const [who, col] of [[red, 0], [yellow, 1], [red, 0], [yellow, 1], [red, 0], [yellow, 1], [red, 0]] as const) {
      drop(who, col);
      await moves(spec, ++n);
    }
    const ends = await Promise.all(ended);
    for (const e of ends) {
      assert.equal(e.reason, MatchEndReason.GAME);
      assert.equal(e.detail, "four_in_a_row");
      assert.equal(e.verified, true);
      assert.equal(e.scores[0]!.playerId, rw.playerId, "red first");
      assert.equal(e.scores[0]!.score, 1);
    }
    assert.equal(spec.mirror!.room.num("winner"), RED);
    for (const ev of await Promise.all(closed)) assert.equal(ev.reason, "match_ended");
    clean(red, yellow, spec);
    assert.ok(sameStates(seen[0]!, seen[2]!) >= 9);
    assert.ok(sameStates(seen[1]!, seen[2]!) >= 9);
    assert.equal(spec.stats.eventsIn, 0, "refusals go to their player alone");
  });

  test("a third player is refused by the game with its own code; a spectator still watches", async () => {
    const room = roomId("c4-full");
    await conn(room, "a").connect();
    await conn(room, "b").connect();
    const third = conn(room, "c", { reconnect: false });
    await assert.rejects(third.connect(), (e: unknown) => e instanceof ServerError && e.codeName === "JOIN_REFUSED" && e.reason === "table_full");
    const spec = conn(room, "", { spectate: true });
    await spec.connect();
    await states(spec, 5);
    assert.equal(spec.mirror!.players.length, 2);
    clean(spec);
  });
});
