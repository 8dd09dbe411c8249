// The lobby API client against a real `tickwire serve` on loopback.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Connection, Lobby, ServerError, seatOptions, type SchemaMirror } from "../src/index.js";
import { API_KEY, freePort, startServer, type TestServer } from "./server.js";
import { lobbyError, recordStates, sameStates, states, waitFor } from "./util.js";

let srv: TestServer;
let lobby: Lobby;
const open: Connection[] = [];

before(async () => {
  srv = await startServer();
  lobby = new Lobby({ baseUrl: srv.http });
});

after(async () => {
  for (const c of open) await c.close();
  await srv.stop();
});

async function play(seat: Parameters<typeof seatOptions>[0]) {
  const c = new Connection({ ...seatOptions(seat) });
  open.push(c);
  return c.connect();
}

test("modes list the server's modes with their boards", async () => {
  const modes = await lobby.modes();
  const arena = modes.find((m) => m.name === "arena");
  assert.ok(arena);
  assert.equal(arena.size, 16);
  assert.deepEqual(arena.leaderboards.sort(), ["arena", "arena-weekly"]);
  const nodes = await lobby.nodes();
  assert.equal(nodes.length, 1);
});

test("rooms: create, list, get, join, and play with the seat's ticket", async () => {
  const room = await lobby.createRoom({ mode: "arena" });
  assert.equal(room.mode, "arena");
  assert.equal(room.code, undefined);
  const listed = await lobby.rooms({ mode: "arena", has_space: true, limit: 100 });
  assert.ok(listed.rooms.some((r) => r.room_id === room.room_id));
  assert.equal((await lobby.room(room.room_id)).room_id, room.room_id);
  const seat = await lobby.joinRoom(room.room_id, { player_id: "alice", name: "Alice" });
  assert.equal(seat.room_id, room.room_id);
  const w = await play(seat);
  assert.equal(w.roomId, room.room_id);
  const claims = await lobby.verifyTicket(seat.join_ticket);
  assert.equal(claims.player_id, "alice");
});

test("private rooms: joined by code only; errors carry the stable code and status", async () => {
  const room = await lobby.createRoom({ mode: "duel", private: true });
  assert.ok(room.code);
  const listed = await lobby.rooms({ limit: 100 });
  assert.ok(!listed.rooms.some((r) => r.room_id === room.room_id), "a private room is never listed");
  const seat = await lobby.joinByCode(room.code, { player_id: "bob" });
  assert.equal(seat.room_id, room.room_id);
  assert.equal((await play(seat)).roomId, room.room_id);

  let e = await lobbyError(lobby.joinRoom(room.room_id, { player_id: "carol" }));
  assert.equal(e.code, "private_room");
  assert.equal(e.status, 403);
  e = await lobbyError(lobby.joinByCode("NOSUCHCODE", { player_id: "carol" }));
  assert.equal(e.code, "unknown_code");
  assert.equal(e.status, 404);
  e = await lobbyError(lobby.createRoom({ mode: "chess" }));
  assert.equal(e.code, "unknown_mode");
  e = await lobbyError(lobby.joinByCode(room.code, { player_id: "bad id with spaces" }));
  assert.equal(e.code, "bad_request");
  assert.equal(e.status, 400);
});

test("spectate: a lobby spectator ticket watches a room as a spectator, the player's state to the tick", async () => {
  const room = await lobby.createRoom({ mode: "arena" });
  const seat = await lobby.joinRoom(room.room_id, { player_id: "sp-player", name: "Player" });
  const player = new Connection<SchemaMirror>(seatOptions(seat));
  open.push(player);
  const pw = await player.connect();
  const ticket = await lobby.spectate(room.room_id);
  assert.equal(ticket.room_id, room.room_id);
  assert.equal(ticket.address, seat.address);
  assert.ok(ticket.join_ticket);
  assert.ok(ticket.expires_at > Date.now() / 1000);
  const spec = new Connection<SchemaMirror>({ ...seatOptions(ticket), spectate: true });
  open.push(spec);
  const seenP = recordStates(player), seenS = recordStates(spec);
  const w = await spec.connect();
  assert.equal(w.spectator, true);
  assert.equal(spec.spectator, true);
  assert.equal(w.playerId, 0);
  player.sendInput({ dx: -1, dy: 1 });
  await states(spec, 30);
  await states(player, 2);
  assert.ok(sameStates(seenP, seenS) >= 25);
  assert.equal(spec.stats.checksumMismatches, 0);
  assert.deepEqual(spec.mirror!.players.map((p) => p.id), [pw.playerId]);
});

test("spectate: a spectator ticket takes no seat and a seat ticket cannot spectate; missing and private rooms are LobbyErrors", async () => {
  const room = await lobby.createRoom({ mode: "arena" });
  const seat = await lobby.joinRoom(room.room_id, { player_id: "sp-owner" });
  await play(seat);
  const ticket = await lobby.spectate(room.room_id);
  const seated = new Connection({ ...seatOptions(ticket), reconnect: false });
  open.push(seated);
  await assert.rejects(seated.connect(), (e: unknown) => e instanceof ServerError && e.codeName === "UNAUTHORIZED" && /spectator ticket/.test(e.message));
  const other = await lobby.joinRoom(room.room_id, { player_id: "sp-other" });
  const watching = new Connection({ ...seatOptions(other), spectate: true, reconnect: false });
  open.push(watching);
  await assert.rejects(watching.connect(), (e: unknown) => e instanceof ServerError && e.codeName === "UNAUTHORIZED" && /seat ticket/.test(e.message));

  const nf = await lobbyError(lobby.spectate("no-such-room"));
  assert.equal(nf.status, 404);
  assert.equal(nf.code, "not_found");

  // A private room: only the API key (an operator's monitor) may watch it.
  const priv = await lobby.createRoom({ mode: "arena", private: true });
  await play(await lobby.joinByCode(priv.code!, { player_id: "sp-private" }));
  const denied = await lobbyError(lobby.spectate(priv.room_id));
  assert.equal(denied.status, 403);
  assert.equal(denied.code, "private_room");
  const admin = new Lobby({ baseUrl: srv.http, apiKey: API_KEY });
  const monitor = new Connection<SchemaMirror>({ ...seatOptions(await admin.spectate(priv.room_id)), spectate: true });
  open.push(monitor);
  assert.equal((await monitor.connect()).spectator, true);
  await waitFor(monitor, "state", (e) => e.mirror.players.length === 1, 15000, "the private room's player");
  assert.equal(monitor.stats.checksumMismatches, 0);
});

test("matchmaking: two players queue, the long-poll returns their match, both play it", async () => {
  const [a, b] = await Promise.all([
    lobby.queue({ player_id: "mm-a", name: "A", mode: "duel" }),
    lobby.queue({ player_id: "mm-b", name: "B", mode: "duel" }),
  ]);
  assert.equal(a.status, "queued");
  const [ma, mb] = await Promise.all([lobby.waitForMatch(a.ticket_id), lobby.waitForMatch(b.ticket_id)]);
  assert.equal(ma.status, "matched");
  assert.equal(mb.status, "matched");
  assert.equal(ma.assignment!.room_id, mb.assignment!.room_id);
  const asg = ma.assignment!;
  const w = await play({ address: asg.address, room_id: asg.room_id, join_ticket: asg.join_tickets["mm-a"]! });
  assert.equal(w.roomId, asg.room_id);
  // A matched ticket cannot be cancelled.
  const e = await lobbyError(lobby.cancel(a.ticket_id));
  assert.equal(e.code, "not_queued");
  assert.equal(e.status, 409);
});

test("matchmaking: cancel takes a ticket out of the queue; a second queue of the same player is refused", async () => {
  const t = await lobby.queue({ player_id: "mm-c", mode: "arena", rating: 1500 });
  const e = await lobbyError(lobby.queue({ player_id: "mm-c", mode: "arena" }));
  assert.equal(e.code, "already_queued");
  await lobby.cancel(t.ticket_id);
  assert.equal((await lobby.ticket(t.ticket_id)).status, "cancelled");
  assert.equal((await lobby.ticket(t.ticket_id, { waitMs: 1000 })).status, "cancelled");
  const nf = await lobbyError(lobby.ticket("t-no-such-ticket"));
  assert.equal(nf.code, "not_found");
  assert.equal(nf.status, 404);
});

test("matchmaking: a party queues on its leader's ticket with each member's consent", async () => {
  const refused = await lobbyError(lobby.queue({ player_id: "pt-lead", mode: "duel", party: [{ player_id: "pt-mem", consent: "" }] }));
  assert.equal(refused.code, "consent_required");
  assert.equal(refused.status, 403);
  const c = await lobby.consent("pt-mem", "pt-lead");
  assert.equal(c.leader, "pt-lead");
  const t = await lobby.queue({ player_id: "pt-lead", name: "Lead", mode: "duel", party: [{ player_id: "pt-mem", name: "Mem", consent: c.consent }] });
  assert.deepEqual(t.players.sort(), ["pt-lead", "pt-mem"]);
  const m = await lobby.waitForMatch(t.ticket_id);
  assert.equal(m.status, "matched");
  assert.deepEqual(Object.keys(m.assignment!.join_tickets).sort(), ["pt-lead", "pt-mem"]);
});

test("leaderboards: top, rank, around me and seasons; submissions need the API key", async () => {
  const denied = await lobbyError(lobby.submitScore("arena", { player_id: "lb-x", score: 1 }));
  assert.equal(denied.code, "unauthorized");
  assert.equal(denied.status, 401);

  const admin = new Lobby({ baseUrl: srv.http, apiKey: API_KEY });
  for (const [id, score] of [["lb-1", 30], ["lb-2", 20], ["lb-3", 10]] as const) {
    await admin.submitScore("arena", { player_id: id, name: id.toUpperCase(), score });
    await admin.submitScore("arena-weekly", { player_id: id, score });
  }
  const boards = await lobby.leaderboards();
  assert.ok(boards.some((b) => b.id === "arena-weekly" && b.operator === "increment"));
  const top = await lobby.top("arena", { limit: 2 });
  assert.deepEqual(top.entries.map((e) => [e.player_id, e.score, e.rank]), [["lb-1", 30, 1], ["lb-2", 20, 2]]);
  assert.ok(top.next_cursor, "a second page");
  const rest = await lobby.top("arena", { limit: 2, cursor: top.next_cursor });
  assert.deepEqual(rest.entries.map((e) => e.player_id), ["lb-3"]);
  assert.equal((await lobby.rank("arena", "lb-2")).rank, 2);
  const around = await lobby.around("arena", "lb-2", { n: 1 });
  assert.deepEqual(around.map((e) => e.player_id), ["lb-1", "lb-2", "lb-3"]);
  const seasons = await lobby.seasons("arena-weekly");
  assert.ok(seasons.length >= 1);
  assert.ok(seasons[0]!.id);
  const thisWeek = await lobby.top("arena-weekly", { season: seasons[0]!.id });
  assert.equal(thisWeek.entries[0]!.player_id, "lb-1");
  const nr = await lobbyError(lobby.rank("arena", "nobody"));
  assert.equal(nr.code, "not_ranked");
  const ub = await lobbyError(lobby.top("no-such-board"));
  assert.equal(ub.code, "unknown_board");
});

test("a lobby that does not answer is a network_error with status 0", async () => {
  const port = await freePort(); // nothing listens there
  const e = await lobbyError(new Lobby({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 2000 }).modes());
  assert.equal(e.code, "network_error");
  assert.equal(e.status, 0);
});
