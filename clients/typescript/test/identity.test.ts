// The lobby client with verified player identity: a server started with
// --auth-hs256-secret, and HS256 JWTs made here as a game's auth service would.

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { after, before, test } from "node:test";
import { Connection, Lobby, seatOptions } from "../src/index.js";
import { startServer, type TestServer } from "./server.js";
import { lobbyError } from "./util.js";

const SECRET = "an-auth-service-secret-of-32-bytes-or-more";
let srv: TestServer;

before(async () => {
  srv = await startServer(["--auth-hs256-secret", SECRET]);
});

after(async () => {
  await srv.stop();
});

function jwt(sub: string, name: string): string {
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const body = `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub, name, exp: Math.floor(Date.now() / 1000) + 600 })}`;
  return `${body}.${createHmac("sha256", SECRET).update(body).digest("base64url")}`;
}

test("with verified identity the token is the player: no token, a bad one, and another player's id are refused", async () => {
  const anonymous = new Lobby({ baseUrl: srv.http });
  let e = await lobbyError(anonymous.createRoom({ mode: "arena" }));
  assert.equal(e.code, "token_required");
  assert.equal(e.status, 401);
  e = await lobbyError(new Lobby({ baseUrl: srv.http, token: "not.a.jwt" }).createRoom({ mode: "arena" }));
  assert.equal(e.code, "bad_token");

  let calls = 0;
  const dana = new Lobby({ baseUrl: srv.http, token: () => (calls++, jwt("dana", "Dana")) });
  const room = await dana.createRoom({ mode: "arena" });
  const seat = await dana.joinRoom(room.room_id, {}); // the player is the token's subject
  assert.ok(calls >= 2, "the token function is asked on every call");
  const claims = await dana.verifyTicket(seat.join_ticket);
  assert.equal(claims.player_id, "dana");
  assert.equal(claims.name, "Dana");
  e = await lobbyError(dana.joinRoom(room.room_id, { player_id: "erin" }));
  assert.equal(e.code, "wrong_player");
  assert.equal(e.status, 403);

  const c = new Connection(seatOptions(seat));
  const w = await c.connect();
  assert.equal(w.roomId, room.room_id);
  assert.equal(c.mirror!.player(w.playerId)!.name, "Dana");
  await c.leave();
});
