// The game socket: join (as a player or a spectator), the state mirror,
// inputs and acks, the server clock, typed close reasons, and automatic
// reconnect with the resume token (PROTOCOL.md is the reference for every
// step here).

import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import {
  ClientFrameSchema,
  ErrorCode,
  ProtocolVersion,
  ServerFrameSchema,
  type GameEvents,
  type MatchEnd,
  type MatchEndReason,
  type MatchInfo,
  type Snapshot,
  type Welcome,
} from "./gen/tickwire/v1/tickwire_pb.js";
import { SchemaMirror } from "./schemamirror.js";
import { readDeltaFrame } from "./wire.js";
import { Schema, encodeInput, type InputFields } from "./schema.js";
import { ServerClock, TickSchedule, nowUs } from "./clock.js";
import { Emitter } from "./emitter.js";
import { ProtocolError, ServerError, SpectatorError, TickwireError, describeClose, errorCodeName, type CloseReason } from "./errors.js";
import { MirrorError, toSafeNumber, type MirrorFactory, type MirrorFault, type StateMirror } from "./mirror.js";
import { defaultWebSocket, socketURL, type SocketLike, type WebSocketConstructor } from "./socket.js";

/** The protocol version this SDK speaks: the highest the generated code knows. */
export const PROTOCOL_VERSION: number = Math.max(
  ...Object.values(ProtocolVersion).filter((v): v is number => typeof v === "number"),
);


export interface ReconnectOptions {
  /** Attempts before giving up with reason `network` (default 10). */
  maxAttempts: number;
  /** The first delay (default 250 ms); each next one is `factor` times longer... */
  initialDelayMs: number;
  /** ...up to this (default 5000 ms). */
  maxDelayMs: number;
  /** Default 2. */
  factor: number;
  /** Each delay is randomised by up to this share either way (default 0.2), so clients do not come back in lockstep. */
  jitter: number;
}

export interface ConnectionOptions<M extends StateMirror = SchemaMirror> {
  /** The node's ws base URL (a lobby seat's `address`) or a full `ws://host:port/ws` URL. */
  url: string;
  roomId: string;
  /** Display name, at most 32 bytes of UTF-8 (not needed with a ticket or a resume token). */
  name?: string;
  /** A join ticket from the lobby; omit for an open room. */
  ticket?: string;
  /**
   * Open rooms only: the game the room plays ("arena", "connect4", "tanks"). The join that
   * creates the room picks it; a room of another game refuses with GAME_MISMATCH, a game
   * the server does not host with UNKNOWN_GAME. Omit for the server's open game, or to
   * join a room whatever it plays.
   */
  game?: string;
  /** Join by taking back a held seat (a token saved from an earlier Welcome, e.g. across a page reload). */
  resumeToken?: string;
  /**
   * Watch the room as a spectator (PROTOCOL.md, "Spectators"): no seat, no
   * player, no entity; the same frames, checksums and resyncs as a player.
   * With a lobby, `ticket` must be a spectator ticket (`Lobby.spectate`);
   * with open rooms, no ticket: the room must be running already. Inputs,
   * game messages and chat throw a SpectatorError. Not with `resumeToken`:
   * a spectator has no seat to take back, and reconnects by joining again
   * as a spectator with the same ticket.
   */
  spectate?: boolean;
  /** Builds the state mirror from the Welcome (default: SchemaMirror, decoded by the Welcome's schema). */
  mirror?: MirrorFactory<M>;
  /** Reconnect settings, or false to never reconnect on your own. */
  reconnect?: Partial<ReconnectOptions> | false;
  /** How often to ping for the clock estimate (default 2000 ms; 0: never). */
  pingIntervalMs?: number;
  /** How long one connect-and-join may take (default 10000 ms). */
  joinTimeoutMs?: number;
  /** A WebSocket class to use instead of the platform's (or `ws` in Node). */
  WebSocket?: WebSocketConstructor;
}

export interface WelcomeEvent {
  playerId: number;
  entityId: number;
  roomId: string;
  tickRate: number;
  match: MatchInfo | undefined;
  /** True when this Welcome gave back the held seat (after a reconnect or with options.resumeToken). */
  resumed: boolean;
  /** True when this connection joined as a spectator: `playerId` and `entityId` are 0, and there is no resume token. */
  spectator: boolean;
  /** The raw frame. */
  welcome: Welcome;
}

export interface StateEvent<M> {
  /** The tick the mirror is now at. */
  tick: number;
  /** A delta was applied, or a snapshot (a Welcome's or a resync's) replaced the state. */
  kind: "delta" | "snapshot";
  mirror: M;
}

export interface ResyncEvent {
  /** Why the mirror refused the frame. */
  fault: MirrorFault;
  message: string;
  /** The mirror's tick when it asked. */
  tick: number;
}

export interface MatchEndEvent {
  tick: number;
  reason: MatchEndReason;
  /** GAME: the game's own stable code for why it ended ("last_team_standing"); empty otherwise. */
  detail: string;
  /** Final standings, best first; `playerId` is the seat id, as in Welcome.playerId. */
  scores: { playerId: number; name: string; score: number; rank: number }[];
  /**
   * Whether the mirror's final state matches the server's: true or false when
   * the mirror is at the match's last tick, undefined when it is not (there
   * is no resync after the end). A false also counts in checksumMismatches.
   */
  verified: boolean | undefined;
}

/** A game message from the game to this client (PROTOCOL.md, "Game messages"). */
export interface GameEvent {
  /** The tick whose frame it came with. */
  tick: number;
  /** The game's op code. */
  op: number;
  /** The game's bytes (typically its own protobuf). */
  data: Uint8Array;
}

/** A line of room chat (PROTOCOL.md, "Chat"), as the server cleaned it. */
export interface ChatEvent {
  /** The tick whose frame it came with. */
  tick: number;
  /** The seat id of the player who said it (as Welcome.playerId). */
  playerId: number;
  name: string;
  text: string;
}

export interface DisconnectedEvent {
  /** The WebSocket close code (1006: the network dropped). */
  code: number;
  reason: string;
  /** The server's Error frame or close code as an error, when there was one. */
  error?: TickwireError;
  /** True when the connection will try to take its seat back. */
  reconnecting: boolean;
}

export interface ReconnectingEvent {
  attempt: number;
  delayMs: number;
}

export interface ClosedEvent {
  /** Why the session is over; after this event the connection does nothing more. */
  reason: CloseReason;
  code: number;
  error?: TickwireError;
}

export interface ConnectionEvents<M> {
  welcome: WelcomeEvent;
  state: StateEvent<M>;
  /** The server has applied every input up to `seq`. */
  ack: { seq: number };
  /** The mirror refused a frame and a snapshot was requested (never silent: also counted in stats). */
  resync: ResyncEvent;
  pong: { rttMs: number; offsetUs: number; serverTick: number };
  matchEnd: MatchEndEvent;
  /**
   * A game message from the game, in the order the game sent them, right
   * after the `state` of the tick it came with. Events of frames a resync or
   * a catch-up skipped are not sent again: a game keeps in its state what
   * must survive them.
   */
  event: GameEvent;
  /** A line of room chat, the player's own included, after the `state` of the tick it came with. */
  chat: ChatEvent;
  /**
   * The server sent an Error frame. A close follows, except for SPECTATOR
   * (a spectator sent a frame only a player may): that frame was dropped and
   * the connection stays open.
   */
  serverError: ServerError;
  disconnected: DisconnectedEvent;
  reconnecting: ReconnectingEvent;
  closed: ClosedEvent;
}

/** Counters of what the connection saw; never reset. */
export interface ConnectionStats {
  framesIn: number;
  /** Bytes of the frames received, as decoded (after permessage-deflate). */
  bytesIn: number;
  /** Deltas and snapshots applied and checksum-verified. */
  framesVerified: number;
  checksumMismatches: number;
  /** Frames refused as inconsistent (base tick, short columns, unknown ids, undecodable). */
  badFrames: number;
  /** ResyncRequests sent. */
  resyncs: number;
  /** Deltas ignored while waiting for a requested snapshot. */
  deltasSkipped: number;
  inputsSent: number;
  /** Game messages sent. */
  messagesSent: number;
  /** Game messages received (each an `event`). */
  eventsIn: number;
  /** Chat lines sent and received. */
  chatSent: number;
  chatIn: number;
  /** Successful reconnects (resumed Welcomes; for a spectator, the Welcomes after the first). */
  reconnects: number;
}

/** Snapshots in a row the mirror may refuse before the connection gives up with reason `error`. */
const MAX_REFUSED_SNAPSHOTS = 3;

const defaultReconnect: ReconnectOptions = { maxAttempts: 10, initialDelayMs: 250, maxDelayMs: 5000, factor: 2, jitter: 0.2 };

type Phase = "idle" | "joining" | "open" | "reconnecting" | "closed";

/**
 * One player's (or spectator's) session in one room. Create it, subscribe to
 * events, then `await connect()`.
 */
export class Connection<M extends StateMirror = SchemaMirror> extends Emitter<ConnectionEvents<M>> {
  readonly stats: ConnectionStats = {
    framesIn: 0, bytesIn: 0, framesVerified: 0, checksumMismatches: 0, badFrames: 0,
    resyncs: 0, deltasSkipped: 0, inputsSent: 0, messagesSent: 0, eventsIn: 0, chatSent: 0, chatIn: 0, reconnects: 0,
  };
  readonly clock = new ServerClock();

  private readonly opts: ConnectionOptions<M>;
  private readonly reconnectOpts: ReconnectOptions | undefined;
  private phase: Phase = "idle";
  private socket: SocketLike | undefined;
  private generation = 0;
  private mirrorValue: M | undefined;
  private schemaValue: Schema | undefined;
  private welcomeValue: WelcomeEvent | undefined;
  private scheduleValue: TickSchedule | undefined;
  private token: string | undefined;
  private seq = 0;
  private acked = 0;
  private awaitingSnapshot = false;
  private refusedSnapshots = 0;
  private lastServerError: ServerError | undefined;
  private matchEnded = false;
  private intent: "leave" | "close" | undefined;
  private timers: ReturnType<typeof setTimeout>[] = [];
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private attempt = 0;
  private pendingConnect: { resolve: (w: WelcomeEvent) => void; reject: (e: unknown) => void } | undefined;

  constructor(options: ConnectionOptions<M>) {
    super();
    if (options.spectate && options.resumeToken) {
      throw new TypeError("spectate and resumeToken: a spectator has no seat to resume (join again as a spectator instead)");
    }
    this.opts = options;
    this.token = options.resumeToken || undefined;
    this.reconnectOpts = options.reconnect === false ? undefined : { ...defaultReconnect, ...options.reconnect };
  }

  /**
   * Opens the socket and joins. Resolves with the Welcome; rejects with a
   * ServerError when the server refuses the join (ROOM_FULL, UNAUTHORIZED,
   * UNSUPPORTED_VERSION, ...) or a TickwireError when the socket fails.
   * Only a session that was welcomed reconnects on its own.
   */
  connect(): Promise<WelcomeEvent> {
    if (this.phase !== "idle") return Promise.reject(new TickwireError("connect() was already called"));
    return new Promise<WelcomeEvent>((resolve, reject) => {
      this.pendingConnect = { resolve, reject };
      this.phase = "joining";
      void this.open();
    });
  }

  /** The state mirror (undefined before the first Welcome). */
  get mirror(): M | undefined {
    return this.mirrorValue;
  }

  /** The last Welcome (the first one's ids stay the same across resumes). */
  get welcome(): WelcomeEvent | undefined {
    return this.welcomeValue;
  }

  /** The room's tick schedule (undefined before the first Welcome). */
  get schedule(): TickSchedule | undefined {
    return this.scheduleValue;
  }

  /** The secret that takes this seat back; keep it private (e.g. sessionStorage, to rejoin after a reload). */
  get resumeToken(): string | undefined {
    return this.token;
  }

  /** The highest input seq the server has applied for this player. */
  get lastAck(): number {
    return this.acked;
  }

  /** The seq of the last input sent. */
  get lastSeq(): number {
    return this.seq;
  }

  /**
   * True when this connection watches the room as a spectator: what the
   * Welcome says (Welcome.spectator), and before the first Welcome whether
   * `spectate` was asked for. A spectator's inputs, game messages and chat
   * throw a SpectatorError.
   */
  get spectator(): boolean {
    return this.welcomeValue?.spectator ?? this.opts.spectate ?? false;
  }

  /** True while the socket is open and joined. */
  get connected(): boolean {
    return this.phase === "open";
  }

  /** The room's schema, from the first Welcome (undefined before it). */
  get schema(): Schema | undefined {
    return this.schemaValue;
  }

  /**
   * Sends an input, its fields named as the schema's input fields declare
   * them, and returns its seq. Throws a RangeError for a field the schema
   * does not have or a value its type cannot hold. While disconnected the
   * input is not sent (the seq is still used up, so a predictor stays
   * consistent: the next acked input covers it). A spectator's input throws
   * a SpectatorError and uses up no seq.
   */
  sendInput(fields: InputFields): number {
    this.refuseSpectator("an input");
    const values = this.schemaValue ? encodeInput(this.schemaValue.input, fields) : undefined;
    const seq = ++this.seq;
    if (this.phase === "open" && values) {
      this.send({ body: { case: "input", value: { seq, values } } });
      this.stats.inputsSent++;
    }
    return seq;
  }

  /**
   * Sends the game a message of its own (PROTOCOL.md, "Game messages"): an op
   * code the game defines, from 1, and its bytes (typically the game's own
   * protobuf). The room hands a player's messages to the game in order at the
   * next tick; what they change shows in that tick's state. Returns false when
   * it was not sent because the connection is not open (messages, unlike
   * inputs, are not numbered: resend what still matters after a reconnect).
   * A server whose game takes no messages closes with BAD_FRAME. A
   * spectator's message throws a SpectatorError.
   */
  sendMessage(op: number, data: Uint8Array = new Uint8Array(0)): boolean {
    if (!Number.isInteger(op) || op < 1 || op > 0xffffffff) throw new RangeError(`game message op ${op}: want an integer from 1 to 2^32 - 1`);
    this.refuseSpectator("a game message");
    if (this.phase !== "open") return false;
    this.send({ body: { case: "message", value: { op, data } } });
    this.stats.messagesSent++;
    return true;
  }

  /**
   * Says a line in the room's chat (PROTOCOL.md, "Chat"). The server cleans
   * it (control and format characters stripped, spaces trimmed, at most 200
   * bytes), rate-limits it (5 lines in a burst, then one a second; more are
   * dropped) and the game may drop or rewrite it; every player, this one
   * included, then gets it as a `chat` event. Returns false when it was not
   * sent because the connection is not open or the line is empty. A
   * spectator's line throws a SpectatorError.
   */
  sendChat(text: string): boolean {
    if (typeof text !== "string") throw new TypeError("chat text must be a string");
    this.refuseSpectator("chat");
    if (this.phase !== "open" || text.trim() === "") return false;
    this.send({ body: { case: "chat", value: { text } } });
    this.stats.chatSent++;
    return true;
  }

  /**
   * Leaves the room: the seat is freed at once. Resolves when the server has
   * closed (reason `left`); while disconnected there is no Leave to send, and
   * it ends like close() (reason `closed`).
   */
  leave(): Promise<ClosedEvent> {
    return this.end("leave");
  }

  /**
   * Closes the socket without leaving: the server holds the seat for its
   * rejoin grace, and `new Connection({..., resumeToken})` can take it back.
   */
  close(): Promise<ClosedEvent> {
    return this.end("close");
  }

  /** Throws before anything is sent: the server would drop it with Error{SPECTATOR}. */
  private refuseSpectator(what: string): void {
    if (this.spectator) throw new SpectatorError(`a spectator cannot send ${what}: nothing was sent`);
  }

  private end(intent: "leave" | "close"): Promise<ClosedEvent> {
    if (this.phase === "closed") return Promise.resolve(this.closedEvent ?? { reason: "closed", code: 1000 });
    this.intent = intent;
    const done = new Promise<ClosedEvent>((resolve) => this.once("closed", resolve));
    if (this.phase === "open" && intent === "leave") {
      this.send({ body: { case: "leave", value: {} } });
      // The server closes with 1000; close ourselves if it does not in time.
      this.later(() => this.socket?.close(1000), 5000);
    } else if (this.socket && this.socket.readyState <= 1) {
      this.socket.close(1000);
    } else {
      // No socket to send a Leave on (between reconnect attempts, say): the
      // server holds the seat until its grace ends, so this is a close.
      this.finish("closed", 1000);
    }
    return done;
  }

  private closedEvent: ClosedEvent | undefined;

  // --- the socket ---

  private async open(): Promise<void> {
    const gen = ++this.generation;
    let Ctor: WebSocketConstructor;
    try {
      Ctor = this.opts.WebSocket ?? (await defaultWebSocket());
    } catch (err) {
      this.finish("error", 0, err instanceof TickwireError ? err : new TickwireError(String(err)));
      return;
    }
    if (gen !== this.generation || this.phase === "closed") return;
    let ws: SocketLike;
    try {
      ws = new Ctor(socketURL(this.opts.url));
    } catch (err) {
      this.finish("error", 0, new TickwireError(`cannot open ${this.opts.url}: ${String(err)}`));
      return;
    }
    this.socket = ws;
    this.lastServerError = undefined;
    ws.binaryType = "arraybuffer";
    const joinTimer = (this.joinTimer = this.later(() => {
      if (gen !== this.generation || this.welcomedOn(gen)) return;
      // Treated as a dropped connection: a reconnect attempt tries again.
      this.generation++;
      try {
        ws.close(1000);
      } catch {
        // already closing
      }
      this.onClose(1006, "join timed out");
    }, this.opts.joinTimeoutMs ?? 10000));
    ws.onopen = () => {
      if (gen !== this.generation) return;
      const resume = this.token;
      const { roomId, ticket = "", name = "", spectate = false, game = "" } = this.opts;
      this.send({
        body: {
          case: "join",
          // A spectator never has a token: it joins again as a spectator.
          value: resume
            ? { protocolVersion: PROTOCOL_VERSION, roomId, resumeToken: resume }
            : { protocolVersion: PROTOCOL_VERSION, roomId, name, ticket, spectate, game },
        },
      });
    };
    ws.onmessage = (ev) => {
      if (gen !== this.generation) return;
      this.onMessage(ev.data);
    };
    ws.onerror = () => {
      // A close event always follows; it carries what we can know.
    };
    ws.onclose = (ev) => {
      clearTimeout(joinTimer);
      if (gen !== this.generation) return;
      this.onClose(ev.code, ev.reason);
    };
  }

  private welcomedGen = 0;
  private joinTimer: ReturnType<typeof setTimeout> | undefined;
  private welcomedOn(gen: number): boolean {
    return this.welcomedGen === gen;
  }

  private send(frame: MessageInitShape<typeof ClientFrameSchema>): void {
    const ws = this.socket;
    if (!ws || ws.readyState !== 1) return;
    ws.send(toBinary(ClientFrameSchema, create(ClientFrameSchema, frame)));
  }

  private onMessage(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) {
      this.protocolFault(new ProtocolError("the server sent a text frame"));
      return;
    }
    this.stats.framesIn++;
    this.stats.bytesIn += data.byteLength;
    const bytes = new Uint8Array(data);
    const mirror = this.mirrorValue;
    if (mirror?.applyDeltaFrame) {
      // The hot path: a delta read straight into numbers (wire.ts).
      try {
        const d = readDeltaFrame(bytes);
        if (d) {
          this.onDelta(d, (m) => m.applyDeltaFrame!(d));
          return;
        }
      } catch (err) {
        if (err instanceof MirrorError) this.requestResync(err);
        else throw err;
        return;
      }
    }
    let frame;
    try {
      frame = fromBinary(ServerFrameSchema, bytes);
    } catch (err) {
      this.protocolFault(new ProtocolError(`undecodable server frame: ${String(err)}`));
      return;
    }
    try {
      switch (frame.body.case) {
        case "welcome":
          this.onWelcome(frame.body.value);
          break;
        case "delta": {
          const d = frame.body.value;
          this.onDelta(d, (m) => m.applyDelta(d));
          break;
        }
        case "snapshot":
          this.onSnapshot(frame.body.value);
          break;
        case "pong": {
          const p = frame.body.value;
          this.clock.addSample(Number(p.clientTimeUs), Number(p.serverTimeUs));
          this.emit("pong", { rttMs: this.clock.rttMs, offsetUs: this.clock.offsetUs, serverTick: Number(p.serverTick) });
          break;
        }
        case "error": {
          const e = frame.body.value;
          let msg = e.message;
          if (e.code === ErrorCode.UNSUPPORTED_VERSION) msg += ` (this SDK speaks protocol version ${PROTOCOL_VERSION})`;
          const err = new ServerError(e.code, msg, e.reason);
          // SPECTATOR drops one frame and keeps the connection: it is not why a close comes.
          if (e.code !== ErrorCode.SPECTATOR) this.lastServerError = err;
          this.emit("serverError", err);
          break;
        }
        case "matchEnd":
          this.onMatchEnd(frame.body.value);
          break;
        case "events":
          this.onEvents(frame.body.value);
          break;
      }
    } catch (err) {
      if (err instanceof MirrorError) this.requestResync(err);
      else throw err;
    }
  }

  private onWelcome(w: Welcome): void {
    const first = this.welcomeValue === undefined;
    if (!first && (w.playerId !== this.welcomeValue!.playerId || w.roomId !== this.welcomeValue!.roomId)) {
      // A resume always gives back the same seat; anything else is a server bug.
      this.protocolFault(new ProtocolError(`resumed as player ${w.playerId} in ${w.roomId}, was ${this.welcomeValue!.playerId}`));
      return;
    }
    if (!!this.opts.spectate !== w.spectator) {
      // A server that does not know Join.spectate would seat a spectator as a player.
      this.finish("error", 1000, new ProtocolError(w.spectator
        ? "the server welcomed this connection as a spectator, but it asked for a seat"
        : "the server seated this connection as a player, but it asked to spectate (a server without spectators?)"));
      return;
    }
    this.welcomedGen = this.generation;
    clearTimeout(this.joinTimer);
    this.token = w.resumeToken || this.token;
    this.scheduleValue = new TickSchedule(toSafeNumber(w.tick0UnixUs, "tick0"), w.tickRate);
    this.clock.seed(Number(w.serverTimeUs));
    const ev: WelcomeEvent = {
      playerId: w.playerId, entityId: w.entityId, roomId: w.roomId, tickRate: w.tickRate,
      match: w.match, resumed: w.resumed, spectator: w.spectator, welcome: w,
    };
    this.welcomeValue = ev;
    try {
      this.schemaValue ??= new Schema(w.schema);
      this.mirrorValue ??= (this.opts.mirror ?? (SchemaMirror.fromWelcome as unknown as MirrorFactory<M>))(w);
    } catch (err) {
      // A schema this SDK cannot decode: nothing can be mirrored, and a
      // resync would bring the same schema back.
      this.finish("error", 1000, new ProtocolError(`cannot decode the room's schema: ${err instanceof Error ? err.message : String(err)}`));
      return;
    }
    const wasReconnecting = this.phase === "reconnecting";
    this.phase = "open";
    this.attempt = 0;
    if (wasReconnecting) this.stats.reconnects++;
    this.startPings();
    this.emit("welcome", ev);
    const pc = this.pendingConnect;
    this.pendingConnect = undefined;
    pc?.resolve(ev);
    if (!w.snapshot) {
      this.requestResync(new MirrorError("malformed", "welcome without a snapshot"));
      return;
    }
    // Number the next inputs above what the server has applied for this seat.
    this.setAck(w.snapshot.lastInputSeq);
    if (this.seq < this.acked) this.seq = this.acked;
    this.onSnapshot(w.snapshot);
  }

  private onSnapshot(s: Snapshot): void {
    if (!this.mirrorValue) return;
    this.setAck(s.lastInputSeq);
    this.awaitingSnapshot = false;
    try {
      this.mirrorValue.applySnapshot(s);
    } catch (err) {
      // A snapshot is the whole state: if the mirror cannot take several in a
      // row, asking for more would only loop (a value past 2^53, a server bug).
      if (err instanceof MirrorError && ++this.refusedSnapshots >= MAX_REFUSED_SNAPSHOTS) {
        if (err.fault === "checksum") this.stats.checksumMismatches++;
        else this.stats.badFrames++;
        this.finish("error", 1000, new ProtocolError(`${this.refusedSnapshots} snapshots in a row refused, giving up: ${err.message}`));
        return;
      }
      throw err; // a MirrorError: resync again
    }
    this.refusedSnapshots = 0;
    this.stats.framesVerified++;
    this.emit("state", { tick: this.mirrorValue.tick, kind: "snapshot", mirror: this.mirrorValue });
  }

  private onDelta(d: { ackPlayers: readonly number[]; ackSeqs: readonly number[] }, apply: (m: M) => void): void {
    if (!this.mirrorValue) return;
    if (d.ackPlayers.length === d.ackSeqs.length && !this.welcomeValue?.spectator) {
      const me = this.welcomeValue?.playerId;
      for (let i = 0; i < d.ackPlayers.length; i++) {
        if (d.ackPlayers[i] === me) this.setAck(d.ackSeqs[i]!);
      }
    }
    if (this.awaitingSnapshot) {
      this.stats.deltasSkipped++;
      return;
    }
    apply(this.mirrorValue); // throws MirrorError
    this.stats.framesVerified++;
    this.emit("state", { tick: this.mirrorValue.tick, kind: "delta", mirror: this.mirrorValue });
  }

  private onEvents(e: GameEvents): void {
    const tick = toSafeNumber(e.tick, "tick");
    for (const m of e.messages) {
      this.stats.eventsIn++;
      this.emit("event", { tick, op: m.op, data: m.data });
    }
    for (const c of e.chat) {
      this.stats.chatIn++;
      this.emit("chat", { tick, playerId: c.playerId, name: c.name, text: c.text });
    }
  }

  private setAck(seq: number): void {
    if (seq > this.acked) {
      this.acked = seq;
      this.emit("ack", { seq });
    }
  }

  private onMatchEnd(m: MatchEnd): void {
    this.matchEnded = true;
    const tick = toSafeNumber(m.tick, "tick");
    const mirror = this.mirrorValue;
    let verified: boolean | undefined;
    if (mirror && mirror.synced && !this.awaitingSnapshot && mirror.tick === tick) {
      verified = mirror.checksum === m.checksum >>> 0;
      if (!verified) this.stats.checksumMismatches++;
    }
    this.emit("matchEnd", {
      tick,
      verified,
      reason: m.reason,
      detail: m.detail,
      scores: m.scores.map((s) => ({ playerId: s.playerId, name: s.name, score: toSafeNumber(s.score, "score"), rank: s.rank })),
    });
  }

  /** Asks for a snapshot after a refused frame, and says so (event and counters). */
  private requestResync(err: MirrorError): void {
    if (err.fault === "checksum") this.stats.checksumMismatches++;
    else this.stats.badFrames++;
    if (!this.mirrorValue) return; // before the Welcome there is nothing to resync (and a ResyncRequest is BAD_FRAME)
    this.stats.resyncs++;
    this.awaitingSnapshot = true;
    const tick = this.mirrorValue?.tick ?? 0;
    this.send({ body: { case: "resync", value: { lastTick: BigInt(tick) } } });
    this.emit("resync", { fault: err.fault, message: err.message, tick });
  }

  private protocolFault(err: ProtocolError): void {
    this.requestResync(new MirrorError("malformed", err.message));
  }

  private startPings(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    const every = this.opts.pingIntervalMs ?? 2000;
    if (every <= 0) return;
    const ping = () => this.send({ body: { case: "ping", value: { clientTimeUs: BigInt(nowUs()) } } });
    ping();
    this.pingTimer = setInterval(ping, every);
  }

  // --- closing and reconnecting ---

  private onClose(code: number, reason: string): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    this.socket = undefined;
    const { errorCode, retryable } = describeClose(code);
    const error: TickwireError | undefined =
      this.lastServerError ?? (errorCode !== undefined ? new ServerError(errorCode, reason || `closed with ${code}`) : undefined);
    const ec = this.lastServerError?.code ?? errorCode;

    if (this.intent) {
      this.finish(this.intent === "leave" ? "left" : "closed", code, error);
      return;
    }
    if (this.matchEnded) {
      this.finish("match_ended", code, error);
      return;
    }
    if (ec === ErrorCode.REPLACED) {
      this.finish("replaced", code, error);
      return;
    }
    if (ec === ErrorCode.RESUME_EXPIRED) {
      this.finish("resume_expired", code, error);
      return;
    }
    if (ec === ErrorCode.SPECTATORS_FULL) {
      this.finish("spectators_full", code, error);
      return;
    }
    if (this.phase === "joining") {
      // The first join failed: the game decides what to do.
      this.finish(error ? "error" : "network", code, error ?? new TickwireError(`the connection closed before the join was answered (${code})`));
      return;
    }
    if (code === 1001) {
      this.finish("going_away", code, error);
      return;
    }
    // A player takes its seat back with the token; a spectator has none and
    // joins again as a spectator (with the same ticket, while it is valid).
    const canRetry = retryable && this.reconnectOpts !== undefined && (this.token !== undefined || this.spectator);
    if (this.phase === "open") {
      this.emit("disconnected", { code, reason, ...(error ? { error } : {}), reconnecting: canRetry });
    }
    if (!canRetry) {
      this.finish(error ? "error" : "network", code, error);
      return;
    }
    this.phase = "reconnecting";
    const ro = this.reconnectOpts!;
    if (this.attempt >= ro.maxAttempts) {
      this.finish("network", code, error ?? new TickwireError(`gave up after ${ro.maxAttempts} reconnect attempts`));
      return;
    }
    this.attempt++;
    const base = Math.min(ro.maxDelayMs, ro.initialDelayMs * ro.factor ** (this.attempt - 1));
    const delayMs = Math.round(base * (1 + ro.jitter * (2 * Math.random() - 1)));
    this.emit("reconnecting", { attempt: this.attempt, delayMs });
    this.later(() => {
      if (this.phase === "reconnecting") void this.open();
    }, delayMs);
  }

  private finish(reason: CloseReason, code: number, error?: TickwireError): void {
    if (this.phase === "closed") return;
    this.phase = "closed";
    this.generation++;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    if (this.socket && this.socket.readyState <= 1) this.socket.close(1000);
    this.socket = undefined;
    const ev: ClosedEvent = { reason, code, ...(error ? { error } : {}) };
    this.closedEvent = ev;
    const pc = this.pendingConnect;
    this.pendingConnect = undefined;
    pc?.reject(error ?? new TickwireError(`connection closed (${reason}, ${code})`));
    this.emit("closed", ev);
  }

  private later(fn: () => void, ms: number): ReturnType<typeof setTimeout> {
    const t = setTimeout(() => {
      this.timers = this.timers.filter((x) => x !== t);
      fn();
    }, ms);
    this.timers.push(t);
    return t;
  }
}

/** Opens a connection and waits for the Welcome. */
export async function connect<M extends StateMirror = SchemaMirror>(options: ConnectionOptions<M>): Promise<Connection<M>> {
  const c = new Connection<M>(options);
  await c.connect();
  return c;
}

/** The connection options for a lobby seat (`joinRoom`, `joinByCode`, or a match assignment). */
export function seatOptions(seat: { address: string; room_id: string; join_ticket: string }): Pick<ConnectionOptions, "url" | "roomId" | "ticket"> {
  return { url: seat.address, roomId: seat.room_id, ticket: seat.join_ticket };
}

export { errorCodeName };
