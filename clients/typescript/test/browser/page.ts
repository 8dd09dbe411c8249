// Runs in headless Chromium (see browser.test.ts): joins an open room with the
// bundled SDK over the browser's own WebSocket and reports back what it saw.

import { Connection, Lobby, LobbyError, seatOptions } from "../../src/index.js";

const params = new URLSearchParams(location.search);

async function run(): Promise<Record<string, unknown>> {
  const conn = new Connection({ url: params.get("ws")!, roomId: params.get("room")!, name: "browser" });
  const w = await conn.connect();
  const start = conn.mirror!.entity(w.entityId)!.vec2("pos")!;
  const seq = conn.sendInput({ dx: 1, dy: 1 });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("no 40 verified frames in 20 s")), 20000);
    const off = conn.on("state", () => {
      if (conn.stats.framesVerified >= 40 && conn.lastAck >= seq) {
        clearTimeout(t);
        off();
        resolve();
      }
    });
  });
  const end = conn.mirror!.entity(w.entityId)!.vec2("pos")!;
  const stats = { ...conn.stats };
  await conn.leave();

  // The lobby from the page's origin, which is not the server's (CORS).
  const lobby = new Lobby({ baseUrl: params.get("http")! });
  const room = await lobby.createRoom({ mode: "arena" });
  const seat = await lobby.joinRoom(room.room_id, { player_id: "browser-player", name: "Browser" });
  const seated = new Connection(seatOptions(seat));
  const sw = await seated.connect();
  await seated.leave();
  let lobbyErrorCode = "";
  try {
    await lobby.joinByCode("NOSUCHCODE", { player_id: "browser-player" });
  } catch (e) {
    lobbyErrorCode = e instanceof LobbyError ? `${e.code} ${e.status}` : String(e);
  }
  return {
    ok: true,
    nativeWebSocket: typeof WebSocket === "function",
    stats,
    players: conn.mirror!.players.length,
    moved: end.x > start.x && end.y > start.y,
    rttMs: conn.clock.rttMs,
    lobbyRoomJoined: sw.roomId === room.room_id,
    lobbyErrorCode,
  };
}

run()
  .catch((e: unknown) => ({ ok: false, error: String(e) }))
  .then((report) => fetch("/report", { method: "POST", body: JSON.stringify(report) }));
