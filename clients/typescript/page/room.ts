// The room view: one room on a canvas, watched (a spectator) or played from
// the keyboard, drawn generically from the room's schema through the SDK's
// interpolation buffer, with an overlay of the connection's figures.

import {
  Connection, FieldType, InterpolationBuffer, lerp,
  type ClosedEvent, type ConnectionOptions, type Entity, type Field, type GameState, type MatchEndEvent, type Schema, type Vec2,
} from "../src/index.js";
import { bytes, errorText, fill, h, table } from "./dom.js";

/** How far in the past others are drawn: two to three ticks at 20 Hz. */
const RENDER_DELAY_MS = 120;
const BACKGROUND = "#10141c";
const PALETTE = ["#4cc2ff", "#f5a524", "#7ee081", "#ff6b9a", "#b18cff", "#ffd966", "#5ee6d0", "#ff8a5c"];
const CELL_COLOURS: Record<string, string> = { red: "#e5484d", yellow: "#f5d90a", empty: "#1d2533", none: "#1d2533" };
const KEYS: Record<string, [number, number]> = {
  KeyW: [0, 1], ArrowUp: [0, 1], KeyS: [0, -1], ArrowDown: [0, -1],
  KeyA: [-1, 0], ArrowLeft: [-1, 0], KeyD: [1, 0], ArrowRight: [1, 0],
};

export type RoomMode = "watch" | "play";

export interface RoomViewOptions {
  mode: RoomMode;
  /** Where and how to join; `spectate` for a watch. */
  connection: ConnectionOptions;
  /** Called once the session is over (the match ended, the room closed). */
  onEnd?: (e: ClosedEvent) => void;
}

/** What the page's debug object reports about the room view. */
export interface RoomDebug {
  room: string;
  mode: RoomMode;
  connected: boolean;
  spectator: boolean;
  playerId: number;
  entityId: number;
  tick: number;
  entities: number;
  players: string[];
  /** Entities drawn in the last animation frame. */
  drawn: number;
  /** The own entity's position (play), as the server has it. */
  me: Vec2 | undefined;
  stats: Record<string, number>;
  rttMs: number;
  /** The mirror's checksum at each of the last ticks it verified. */
  checksums: Record<number, number>;
  closed: string;
  error: string;
}

/** Grid cells r<row>c<col> among the room's ENUM fields (connect4's board). */
interface Grid {
  rows: number;
  cols: number;
  cells: Map<string, Field>;
}

export class RoomView {
  readonly el: HTMLElement;
  readonly conn: Connection;
  private readonly canvas = h("canvas", { width: 720, height: 720, "aria-label": "the room" });
  private readonly overlay = h("div", { class: "overlay" });
  private readonly side = h("div", { class: "side" });
  private readonly status = h("p", { class: "status" }, "connecting...");
  private buffer: InterpolationBuffer<GameState> | undefined;
  private posField = new Map<number, Field | undefined>();
  private grid: Grid | undefined;
  private bounds: { x0: number; y0: number; x1: number; y1: number } | undefined;
  private drawn = 0;
  private frame = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  private lastBytes = { at: performance.now(), bytes: 0, rate: 0 };
  private keys = new Set<string>();
  private dir = { dx: 0, dy: 0 };
  private checksums = new Map<number, number>();
  private closedReason = "";
  private errorMessage = "";
  private ended: MatchEndEvent | undefined;
  private stopped = false;

  constructor(private readonly opts: RoomViewOptions) {
    this.conn = new Connection(opts.connection as ConnectionOptions);
    const title = h("h2", {}, `${opts.mode === "watch" ? "Watching" : "Playing"} ${opts.connection.roomId}`);
    const hint = opts.mode === "play" ? h("p", { class: "hint" }, "Move with WASD or the arrow keys.") : null;
    this.el = h("section", { class: "room" }, title, this.status, hint,
      h("div", { class: "stage" }, h("div", { class: "canvas-wrap" }, this.canvas, this.overlay), this.side));
    this.conn.on("welcome", () => this.onWelcome());
    this.conn.on("state", ({ tick, mirror }) => {
      this.buffer?.push(tick, mirror.state());
      this.checksums.set(tick, mirror.checksum);
      if (this.checksums.size > 200) this.checksums.delete(this.checksums.keys().next().value!);
      this.growBounds(mirror.entities);
    });
    this.conn.on("resync", ({ fault, message }) => this.say(`resync (${fault}): ${message}`));
    this.conn.on("matchEnd", (e) => (this.ended = e));
    this.conn.on("disconnected", ({ reconnecting }) => reconnecting && this.say("connection lost, reconnecting..."));
    this.conn.on("closed", (e) => {
      this.closedReason = e.reason;
      this.errorMessage = e.error?.message ?? "";
      this.say(this.ended ? `match over: ${standings(this.ended)}` : `closed: ${e.reason}${e.error ? ` (${e.error.message})` : ""}`);
      this.stopTimers();
      if (!this.stopped) this.opts.onEnd?.(e);
    });
  }

  /** Joins and starts drawing. */
  async start(): Promise<void> {
    this.timer = setInterval(() => this.updatePanels(), 500);
    this.frame = requestAnimationFrame(this.render);
    if (this.opts.mode === "play") {
      window.addEventListener("keydown", this.onKey);
      window.addEventListener("keyup", this.onKey);
      window.addEventListener("blur", this.onBlur);
    }
    try {
      await this.conn.connect();
      this.say(this.spectator ? "watching (a spectator: no seat)" : "playing");
    } catch (e) {
      this.errorMessage = errorText(e);
      this.say(`could not join: ${errorText(e)}`);
    }
  }

  /** Leaves the room (freeing the seat) and stops drawing. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopTimers();
    if (this.conn.connected) await this.conn.leave();
    else await this.conn.close();
  }

  get spectator(): boolean {
    return this.conn.spectator;
  }

  debug(): RoomDebug {
    const m = this.conn.mirror;
    const w = this.conn.welcome;
    const me = m && w && w.entityId ? m.entity(w.entityId) : undefined;
    return {
      room: this.opts.connection.roomId, mode: this.opts.mode, connected: this.conn.connected, spectator: this.spectator,
      playerId: w?.playerId ?? 0, entityId: w?.entityId ?? 0, tick: m?.tick ?? 0, entities: m?.entities.length ?? 0,
      players: m ? m.players.map((p) => p.name) : [], drawn: this.drawn,
      me: me ? this.position(me) : undefined, stats: { ...this.conn.stats }, rttMs: this.conn.clock.rttMs,
      checksums: Object.fromEntries(this.checksums), closed: this.closedReason, error: this.errorMessage,
    };
  }

  /** Pixels of the canvas that are not the background: 0 for a blank canvas. */
  ink(): number {
    const c = this.canvas.getContext("2d");
    if (!c) return 0;
    const d = c.getImageData(0, 0, this.canvas.width, this.canvas.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] !== 0x10 || d[i + 1] !== 0x14 || d[i + 2] !== 0x1c) n++;
    return n;
  }

  private onWelcome(): void {
    const s = this.conn.schema!;
    this.buffer ??= new InterpolationBuffer<GameState>(this.conn.schedule!, { delayMs: RENDER_DELAY_MS });
    this.buffer.clear();
    this.posField.clear();
    s.kinds.forEach((k, i) => this.posField.set(i + 1, k.fields.find((f) => f.type === FieldType.POS2 || f.type === FieldType.POS3)));
    this.grid = gridOf(s);
  }

  private position(e: Entity): Vec2 | undefined {
    const f = this.posField.get(e.kind);
    if (!f) return undefined;
    const v = e.get(f.name) as Vec2 | undefined;
    return v ? { x: v.x, y: v.y } : undefined;
  }

  private growBounds(entities: readonly Entity[]): void {
    for (const e of entities) {
      const p = this.position(e);
      if (!p) continue;
      const b = (this.bounds ??= { x0: p.x, y0: p.y, x1: p.x + 1, y1: p.y + 1 });
      b.x0 = Math.min(b.x0, p.x);
      b.y0 = Math.min(b.y0, p.y);
      b.x1 = Math.max(b.x1, p.x);
      b.y1 = Math.max(b.y1, p.y);
    }
  }

  private readonly render = (): void => {
    this.frame = requestAnimationFrame(this.render);
    const c = this.canvas.getContext("2d");
    if (!c) return;
    const W = this.canvas.width, H = this.canvas.height;
    c.fillStyle = BACKGROUND;
    c.fillRect(0, 0, W, H);
    const m = this.conn.mirror;
    if (!m || !this.buffer) return;
    if (this.grid) {
      this.drawn = this.drawGrid(c, W, H);
      return;
    }
    const s = this.buffer.sample(this.conn.clock.serverNowUs());
    const b = this.bounds;
    if (!s || !b) return;
    const pad = 0.04, span = Math.max(b.x1 - b.x0, b.y1 - b.y0, 1);
    const sx = (x: number) => (pad + ((x - b.x0) / span) * (1 - 2 * pad)) * W;
    const sy = (y: number) => H - (pad + ((y - b.y0) / span) * (1 - 2 * pad)) * H; // +y is up
    const owner = new Map<number, string>();
    for (const p of m.players) owner.set(p.entityId, p.name);
    const mine = this.conn.welcome?.entityId ?? 0;
    let n = 0;
    c.font = "12px system-ui, sans-serif";
    c.textAlign = "center";
    for (const [id, a] of s.from.state.entities) {
      let p = this.position(a);
      if (!p) continue;
      const to = s.to.state.entities.get(id);
      const q = to ? this.position(to) : undefined;
      if (q) p = { x: lerp(p.x, q.x, s.t), y: lerp(p.y, q.y, s.t) };
      if (id === mine) {
        const live = m.entity(id); // the own entity: the newest state, not the past
        p = (live && this.position(live)) ?? p;
      }
      const x = sx(p.x), y = sy(p.y), player = owner.get(id);
      c.beginPath();
      c.arc(x, y, player ? 9 : 5, 0, 2 * Math.PI);
      c.fillStyle = PALETTE[(a.kind - 1) % PALETTE.length]!;
      c.fill();
      if (id === mine) {
        c.lineWidth = 3;
        c.strokeStyle = "#ffffff";
        c.stroke();
      }
      if (player) {
        c.fillStyle = "#d8dee9";
        c.fillText(player, x, y - 14);
      }
      n++;
    }
    this.drawn = n;
  };

  private drawGrid(c: CanvasRenderingContext2D, W: number, H: number): number {
    const g = this.grid!, room = this.conn.mirror!.room;
    const cell = Math.min(W / g.cols, H / g.rows);
    const ox = (W - cell * g.cols) / 2, oy = (H - cell * g.rows) / 2;
    c.fillStyle = "#1f4bb5";
    c.fillRect(ox, oy, cell * g.cols, cell * g.rows);
    let n = 0;
    for (let r = 0; r < g.rows; r++) {
      for (let col = 0; col < g.cols; col++) {
        const f = g.cells.get(`r${r}c${col}`);
        const v = f ? (room.num(f.name) ?? 0) : 0;
        const name = f?.values[v] ?? "";
        c.beginPath();
        c.arc(ox + (col + 0.5) * cell, oy + (g.rows - r - 0.5) * cell, cell * 0.4, 0, 2 * Math.PI); // row 0 at the bottom
        c.fillStyle = CELL_COLOURS[name] ?? PALETTE[v % PALETTE.length]!;
        c.fill();
        if (v) n++;
      }
    }
    return n;
  }

  private readonly onKey = (e: KeyboardEvent): void => {
    if (!(e.code in KEYS) || e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
    e.preventDefault();
    if (e.type === "keydown") this.keys.add(e.code);
    else this.keys.delete(e.code);
    this.steer();
  };

  private readonly onBlur = (): void => {
    this.keys.clear();
    this.steer();
  };

  /** Sends the direction the held keys make, when it changed. */
  private steer(): void {
    let dx = 0, dy = 0;
    for (const k of this.keys) {
      dx += KEYS[k]![0];
      dy += KEYS[k]![1];
    }
    dx = Math.sign(dx);
    dy = Math.sign(dy);
    const input = this.conn.schema?.input;
    if ((dx === this.dir.dx && dy === this.dir.dy) || !input?.field("dx") || !input.field("dy") || this.spectator) return;
    this.dir = { dx, dy };
    this.conn.sendInput(this.dir);
  }

  private updatePanels(): void {
    const st = this.conn.stats, now = performance.now();
    const dt = (now - this.lastBytes.at) / 1000;
    if (dt >= 1) {
      this.lastBytes = { at: now, bytes: st.bytesIn, rate: (st.bytesIn - this.lastBytes.bytes) / dt };
    }
    const ping = this.conn.clock.rttMs;
    fill(this.overlay,
      line("ping", Number.isNaN(ping) ? "-" : `${ping.toFixed(1)} ms`),
      line("in", `${bytes(this.lastBytes.rate)}/s`),
      line("frames verified", st.framesVerified),
      line("checksum mismatches", st.checksumMismatches),
      line("resyncs", st.resyncs),
      line("tick", this.conn.mirror?.tick ?? 0));
    const m = this.conn.mirror;
    if (!m) return;
    const players = [...m.players].sort((a, b) => b.score - a.score);
    const extra = m.schema.player.fields.map((f) => f.name);
    const roomFields = m.schema.room.fields.filter((f) => !this.grid?.cells.has(f.name));
    fill(this.side,
      h("h3", {}, `Players (${players.length})`),
      table(["name", "score", ...extra], players.map((p) => [p.id === this.conn.welcome?.playerId ? h("b", {}, p.name) : p.name, p.score, ...extra.map((f) => show(m.schema, p.get(f), p.shape.field(f)))])),
      roomFields.length ? h("h3", {}, "Room") : null,
      roomFields.length ? table(["field", "value"], roomFields.map((f) => [f.name, show(m.schema, m.room.get(f.name), f)])) : null,
      h("p", { class: "muted" }, `${m.entities.length} entities: ${kindCounts(m.entities)}`));
  }

  private say(text: string): void {
    this.status.textContent = text;
  }

  private stopTimers(): void {
    cancelAnimationFrame(this.frame);
    clearInterval(this.timer);
    window.removeEventListener("keydown", this.onKey);
    window.removeEventListener("keyup", this.onKey);
    window.removeEventListener("blur", this.onBlur);
  }
}

function line(label: string, value: string | number): HTMLElement {
  return h("div", {}, h("span", {}, label), h("b", {}, value));
}

function gridOf(s: Schema): Grid | undefined {
  const cells = new Map<string, Field>();
  let rows = 0, cols = 0;
  for (const f of s.room.fields) {
    const m = /^r(\d+)c(\d+)$/.exec(f.name);
    if (!m || f.type !== FieldType.ENUM) continue;
    cells.set(f.name, f);
    rows = Math.max(rows, Number(m[1]) + 1);
    cols = Math.max(cols, Number(m[2]) + 1);
  }
  return cells.size >= 4 && cells.size === rows * cols ? { rows, cols, cells } : undefined;
}

/** A field's value as text: an enum by its name, a position by its parts. */
function show(_s: Schema, v: unknown, f: Field | undefined): string {
  if (v === undefined) return "";
  if (f?.type === FieldType.ENUM && typeof v === "number") return f.values[v] ?? String(v);
  if (typeof v === "object" && v) return Object.values(v).join(", ");
  return String(v);
}

function kindCounts(es: readonly Entity[]): string {
  const n = new Map<string, number>();
  for (const e of es) n.set(e.kindName, (n.get(e.kindName) ?? 0) + 1);
  return [...n].map(([k, c]) => `${c} ${k}`).join(", ");
}

function standings(e: MatchEndEvent): string {
  return e.scores.slice(0, 3).map((s) => `${s.rank}. ${s.name} ${s.score}`).join(", ");
}
