// The page tickwire serve shows at /: the room list, quick play, the
// leaderboards, an operator's monitor, and a room watched or played live.
// Routes are the URL's hash: #/rooms, #/leaderboards, #/monitor,
// #/watch/<room>, #/play/<room>.

import { Lobby, type ConnectionOptions, type Room, type Seat } from "../src/index.js";
import { bytes, errorText, fill, h, table } from "./dom.js";
import { RoomView, type RoomDebug, type RoomMode } from "./room.js";

interface PageConfig {
  node: string;
  demo_room: string;
}

const lobby = new Lobby({ baseUrl: location.origin });
const main = document.getElementById("main")!;
const nameInput = document.getElementById("name") as HTMLInputElement;
const modeSelect = document.getElementById("mode") as HTMLSelectElement;
const quickStatus = document.getElementById("quick-status")!;

const playerId = localStorage.getItem("tickwire.player") ?? `web-${Math.random().toString(36).slice(2, 10)}`;
localStorage.setItem("tickwire.player", playerId);
nameInput.value = localStorage.getItem("tickwire.name") ?? `Guest ${playerId.slice(4, 8)}`;
nameInput.addEventListener("change", () => localStorage.setItem("tickwire.name", nameInput.value));

let config: PageConfig = { node: "", demo_room: "" };
let view: RoomView | undefined;
let refresh: ReturnType<typeof setInterval> | undefined;
let quick: AbortController | undefined;

/** The page's state for tests and the curious: `window.tickwire`. */
const debug = {
  route: "",
  playerId,
  config: (): PageConfig => config,
  room: (): RoomDebug | undefined => view?.debug(),
  ink: (): number => view?.ink() ?? 0,
  lastError: "",
};
(window as unknown as { tickwire: typeof debug }).tickwire = debug;

async function loadConfig(): Promise<void> {
  try {
    const r = await fetch("/config.json", { cache: "no-store" });
    if (r.ok) config = (await r.json()) as PageConfig;
  } catch {
    // Keep the last one.
  }
}

/** The ws URL of a seat: this page's own host when the seat is on the node that served it (the origin its socket allows). */
function socketBase(seat: { node: string; address: string }): string {
  if (seat.node && seat.node === config.node) return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}`;
  return seat.address;
}

async function openRoom(mode: RoomMode, roomId: string, seat?: Seat): Promise<void> {
  try {
    seat ??= mode === "watch" ? await lobby.spectate(roomId) : await lobby.joinRoom(roomId, { player_id: playerId, name: nameInput.value });
  } catch (e) {
    fill(main, h("p", { class: "error" }, `Cannot ${mode} ${roomId}: ${errorText(e)}`), h("a", { href: "#/rooms" }, "Back to the rooms"));
    debug.lastError = errorText(e);
    return;
  }
  const connection: ConnectionOptions = { url: socketBase(seat), roomId: seat.room_id, ticket: seat.join_ticket, spectate: mode === "watch" };
  const v = new RoomView({
    mode, connection,
    onEnd: () => {
      // The demo room is replaced when its match ends: follow it.
      if (roomId !== config.demo_room) return;
      setTimeout(async () => {
        await loadConfig();
        if (view === v && config.demo_room && config.demo_room !== roomId) location.hash = `#/${mode}/${config.demo_room}`;
      }, 2000);
    },
  });
  view = v;
  fill(main, h("p", {}, h("a", { href: "#/rooms" }, "< rooms")), v.el);
  await v.start();
}

function state(r: Room): string {
  return `${r.players}/${r.capacity} ${r.state}${r.private ? " private" : ""}`;
}

async function showRooms(): Promise<void> {
  const box = h("div");
  fill(main, h("h2", {}, "Rooms"), box);
  const draw = async () => {
    try {
      await loadConfig();
      const { rooms } = await lobby.rooms({ limit: 100 });
      rooms.sort((a, b) => Number(b.room_id === config.demo_room) - Number(a.room_id === config.demo_room) || b.players - a.players);
      fill(box, rooms.length === 0 ? h("p", { class: "muted" }, "No rooms yet: quick play starts one.") :
        table(["room", "mode", "players", "node", ""], rooms.map((r) => [
          h("span", {}, r.room_id, r.room_id === config.demo_room ? h("span", { class: "badge" }, "demo") : null),
          r.mode, state(r), r.node,
          h("span", { class: "actions" },
            // A room runs from its first join; before that there is nothing to watch.
            r.players > 0 ? h("a", { href: `#/watch/${r.room_id}`, class: "button" }, "Watch") : null,
            r.state !== "ended" && r.players < r.capacity ? h("a", { href: `#/play/${r.room_id}`, class: "button" }, "Play") : null),
        ])));
    } catch (e) {
      fill(box, h("p", { class: "error" }, `The lobby did not answer: ${errorText(e)}`));
    }
  };
  await draw();
  refresh = setInterval(draw, 2000);
}

async function showLeaderboards(): Promise<void> {
  const select = h("select");
  const box = h("div");
  fill(main, h("h2", {}, "Leaderboards"), h("p", {}, select), box);
  const draw = async () => {
    if (!select.value) return;
    try {
      const { entries } = await lobby.top(select.value, { limit: 25 });
      fill(box, entries.length === 0 ? h("p", { class: "muted" }, "No scores yet.") :
        table(["rank", "player", "score"], entries.map((e) => [e.rank, e.player_id === playerId ? h("b", {}, e.name || e.player_id) : e.name || e.player_id, e.score])));
    } catch (e) {
      fill(box, h("p", { class: "error" }, errorText(e)));
    }
  };
  try {
    const boards = await lobby.leaderboards();
    fill(select, ...boards.map((b) => h("option", { value: b.id }, b.id)));
  } catch (e) {
    fill(box, h("p", { class: "error" }, errorText(e)));
  }
  select.addEventListener("change", () => void draw());
  await draw();
  refresh = setInterval(draw, 5000);
}

/** One room of GET /v1/stats's room_list. */
interface RoomStats {
  id: string;
  mode: string;
  players: number;
  capacity: number;
  spectators?: number;
  phase: string;
  tick_p50_ms: number;
  tick_p99_ms: number;
  bytes_out: number;
  frames_dropped: number;
}

interface NodeStats {
  connections: number;
  rooms: number;
  bytes_out: number;
  frames_dropped: number;
  lagged: number;
  resyncs: number;
  seats_held: number;
  rejoins: number;
  seats_expired: number;
  tick_p50_ms: number;
  tick_p99_ms: number;
  cpu_seconds: number;
  rss_bytes: number;
  uptime_s: number;
  room_list?: RoomStats[];
}

async function showMonitor(): Promise<void> {
  const summary = h("div", { class: "cards" });
  const box = h("div");
  fill(main, h("h2", {}, "Monitor: this node"), summary, box);
  let last: { at: number; stats: NodeStats } | undefined;
  const rates = new Map<string, number>();
  const draw = async () => {
    try {
      const [r, listed] = await Promise.all([fetch("/v1/stats", { cache: "no-store" }), lobby.rooms({ limit: 100 })]);
      const s = (await r.json()) as NodeStats;
      const now = performance.now();
      const dt = last ? (now - last.at) / 1000 : 0;
      const prev = new Map((last?.stats.room_list ?? []).map((x) => [x.id, x]));
      const rate = last && dt > 0 ? (s.bytes_out - last.stats.bytes_out) / dt : 0;
      for (const x of s.room_list ?? []) {
        const p = prev.get(x.id);
        if (p && dt > 0) rates.set(x.id, (x.bytes_out - p.bytes_out) / dt);
      }
      last = { at: now, stats: s };
      const card = (k: string, v: string | number) => h("div", { class: "card" }, h("span", {}, k), h("b", {}, v));
      fill(summary,
        card("connections", s.connections), card("rooms", s.rooms),
        card("tick p50 / p99", `${s.tick_p50_ms.toFixed(2)} / ${s.tick_p99_ms.toFixed(2)} ms`),
        card("bytes out", `${bytes(rate)}/s`), card("frames dropped", s.frames_dropped), card("lagged", s.lagged),
        card("seats held / rejoins / expired", `${s.seats_held} / ${s.rejoins} / ${s.seats_expired}`),
        card("memory", bytes(s.rss_bytes)), card("uptime", `${Math.round(s.uptime_s)} s`));
      const lobbyRooms = new Map(listed.rooms.map((x) => [x.room_id, x]));
      const list = s.room_list ?? [];
      fill(box, list.length === 0 ? h("p", { class: "muted" }, "No rooms are running on this node.") :
        table(["room", "mode", "players", "spectators", "phase", "tick p50 / p99", "bytes out", "drops", "lobby"], list.map((x) => [
          h("span", {}, x.id, x.id === config.demo_room ? h("span", { class: "badge" }, "demo") : null),
          x.mode, `${x.players}/${x.capacity}`, x.spectators ?? "-", x.phase,
          `${x.tick_p50_ms.toFixed(2)} / ${x.tick_p99_ms.toFixed(2)} ms`,
          `${bytes(x.bytes_out)} (${bytes(rates.get(x.id) ?? 0)}/s)`, x.frames_dropped,
          lobbyRooms.get(x.id)?.state ?? "unlisted",
        ]), (i) => (location.hash = `#/watch/${list[i]!.id}`)));
    } catch (e) {
      fill(box, h("p", { class: "error" }, `No stats: ${errorText(e)}`));
    }
  };
  await draw();
  refresh = setInterval(draw, 1000);
}

async function quickPlay(ev: Event): Promise<void> {
  ev.preventDefault();
  quick?.abort();
  const ac = (quick = new AbortController());
  try {
    quickStatus.textContent = "looking for a match...";
    const t = await lobby.queue({ mode: modeSelect.value, player_id: playerId, name: nameInput.value });
    const done = await lobby.waitForMatch(t.ticket_id, { signal: ac.signal });
    const a = done.assignment;
    const ticket = a?.join_tickets[playerId];
    if (done.status !== "matched" || !a || !ticket) {
      quickStatus.textContent = `no match: ${done.status}`;
      return;
    }
    quickStatus.textContent = "";
    pending = { room_id: a.room_id, node: a.node, address: a.address, join_ticket: ticket, expires_at: 0 };
    location.hash = `#/play/${a.room_id}`;
  } catch (e) {
    if (!ac.signal.aborted) quickStatus.textContent = `quick play failed: ${errorText(e)}`;
  }
}

/** A seat quick play got, for the route it opens. */
let pending: Seat | undefined;

async function route(): Promise<void> {
  clearInterval(refresh);
  const old = view;
  view = undefined;
  if (old) await old.stop();
  const [, what = "rooms", id = ""] = location.hash.split("/");
  debug.route = what;
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.getAttribute("href") === `#/${what}`));
  switch (what) {
    case "watch":
    case "play": {
      const seat = pending?.room_id === id && what === "play" ? pending : undefined;
      pending = undefined;
      return openRoom(what, decodeURIComponent(id), seat);
    }
    case "leaderboards":
      return showLeaderboards();
    case "monitor":
      return showMonitor();
    default:
      return showRooms();
  }
}

async function init(): Promise<void> {
  await loadConfig();
  try {
    const modes = await lobby.modes();
    fill(modeSelect, ...modes.map((m) => h("option", { value: m.name }, `${m.name} (${m.size})`)));
  } catch (e) {
    quickStatus.textContent = `the lobby did not answer: ${errorText(e)}`;
  }
  document.getElementById("quick")!.addEventListener("submit", (e) => void quickPlay(e));
  window.addEventListener("hashchange", () => void route());
  await route();
}

void init();
