// The lobby API client: matchmaking, rooms and leaderboards over HTTP+JSON.
// Field names are the API's own (README.md, "Lobby API"), unchanged.

import { LobbyError } from "./errors.js";

export interface Member {
  /** The account id. With verified identity (a `token`) leave it out: the token's subject is the player. */
  player_id?: string;
  name?: string;
}

/**
 * What a matchmaking request says of one member for the game, carried unread into the
 * member's join ticket and the game's join hook (PROTOCOL.md, "Ticket metadata"). At most
 * 16 bytes of team, 8 attributes, keys 1 to 16 of `A-Z a-z 0-9 _ . -`, values at most 24
 * bytes; over a limit, or a join ticket that would not fit, is a 400 `bad_metadata` or
 * `metadata_too_large`.
 */
export interface TicketMetadata {
  team?: string;
  attributes?: Record<string, string>;
}

/** A party member on the leader's ticket, with the consent the member asked for (Lobby.consent) and handed over. */
export interface PartyMember extends Member, TicketMetadata {
  consent: string;
}

export interface QueueRequest extends Member, TicketMetadata {
  mode: string;
  /** Places the ticket (0 when left out): rate every ticket of a mode on one scale, or none. */
  rating?: number;
  party?: PartyMember[];
}

/** A player's consent to be queued in a leader's party (valid 10 minutes). */
export interface Consent {
  consent: string;
  player_id: string;
  leader: string;
  /** Unix seconds. */
  expires_at: number;
}

/** A seat in a room: connect to `address` with `join_ticket` (see seatOptions); also a spectator's ticket (Lobby.spectate). */
export interface Seat {
  room_id: string;
  node: string;
  address: string;
  join_ticket: string;
  /** Unix seconds. */
  expires_at: number;
}

export interface Assignment {
  room_id: string;
  node: string;
  address: string;
  backfill: boolean;
  /** The join ticket of each player of this ticket (its own party only), by account id. */
  join_tickets: Record<string, string>;
}

export type TicketStatus = "queued" | "matched" | "cancelled" | "expired";

export interface MatchTicket {
  ticket_id: string;
  status: TicketStatus;
  mode: string;
  players: string[];
  created_at: string;
  waited_ms: number;
  assignment?: Assignment;
}

export type RoomState = "open" | "waiting" | "running" | "ended";

export interface Room {
  room_id: string;
  mode: string;
  node: string;
  address: string;
  capacity: number;
  players: number;
  state: RoomState;
  private: boolean;
  matchmade: boolean;
  rating: number;
  created_at: string;
  /** The join code of a private room, in the answer to createRoom only. */
  code?: string;
}

export interface RoomFilter {
  mode?: string;
  state?: RoomState;
  has_space?: boolean;
  matchmade?: boolean;
  limit?: number;
  cursor?: string;
}

export interface Mode {
  name: string;
  size: number;
  duration_s: number;
  score_limit: number;
  leaderboards: string[];
}

export interface NodeInfo {
  id: string;
  address: string;
  rooms: number;
  players: number;
  seen: string;
  draining?: boolean;
}

export interface Board {
  id: string;
  order: "desc" | "asc";
  operator: "best" | "set" | "increment";
  reset?: string;
}

export interface Entry {
  player_id: string;
  name: string;
  score: number;
  rank: number;
  updated_at: string;
}

export interface Season {
  id: string;
  start?: string;
  end?: string;
}

export interface TicketClaims {
  player_id: string;
  name: string;
  room_id: string;
  mode: string;
  node: string;
  expires_at: number;
}

export interface LobbyOptions {
  /** The server's HTTP base URL, e.g. `http://127.0.0.1:7350`. */
  baseUrl: string;
  /**
   * The player's JWT from your auth service, for a server with verified
   * identity (`--auth-hs256-secret` or `--auth-jwks-url`): sent as
   * `Authorization: Bearer`, and asked for again on every call, so a function
   * can hand out a refreshed token.
   */
  token?: string | (() => string | Promise<string>);
  /**
   * The server's API key: the trusted backend, which acts for any player and
   * alone may submit scores and change boards. Server-side tools only: never
   * ship it in a game. It wins over `token`.
   */
  apiKey?: string;
  /** A fetch to use instead of the platform's. */
  fetch?: typeof fetch;
  /** Bound on one ordinary call (default 10000 ms); long-polls add their wait. */
  timeoutMs?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
}

/** The lobby API. Every method throws LobbyError with the API's stable code on failure. */
export class Lobby {
  private readonly base: string;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: LobbyOptions) {
    this.base = options.baseUrl.replace(/\/+$/, "").replace(/^ws(s?):/, "http$1:");
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  // --- matchmaking ---

  /** Queues a player (and its party) for a match. */
  queue(req: QueueRequest, o?: CallOptions): Promise<MatchTicket> {
    return this.call("POST", "/v1/matchmaking/tickets", req, o);
  }

  /**
   * The member's consent to be queued in `leader`'s party: the member's own
   * client asks for it and hands it to the leader (through the game's own
   * invite flow), whose queue() lists it beside the member.
   */
  consent(playerId: string | undefined, leader: string, o?: CallOptions): Promise<Consent> {
    return this.call("POST", "/v1/matchmaking/consents", { ...(playerId ? { player_id: playerId } : {}), leader }, o);
  }

  /** A ticket's state; with `waitMs`, long-polls until it leaves the queue or the wait ends (at most 60 s). */
  ticket(id: string, o?: CallOptions & { waitMs?: number }): Promise<MatchTicket> {
    const q = o?.waitMs ? `?wait=${Math.ceil(o.waitMs)}ms` : "";
    return this.call("GET", `/v1/matchmaking/tickets/${enc(id)}${q}`, undefined, o, o?.waitMs);
  }

  /**
   * Waits until the ticket leaves the queue (matched, cancelled or expired),
   * long-polling 30 s at a time. Abort with `signal`.
   */
  async waitForMatch(id: string, o?: CallOptions & { pollMs?: number }): Promise<MatchTicket> {
    for (;;) {
      const t = await this.ticket(id, { waitMs: o?.pollMs ?? 30000, ...(o?.signal ? { signal: o.signal } : {}) });
      if (t.status !== "queued") return t;
    }
  }

  /** Takes a ticket out of the queue; LobbyError `not_queued` (409) once it was matched. */
  async cancel(id: string, o?: CallOptions): Promise<void> {
    await this.call("DELETE", `/v1/matchmaking/tickets/${enc(id)}`, undefined, o);
  }

  // --- rooms ---

  async rooms(f: RoomFilter = {}, o?: CallOptions): Promise<{ rooms: Room[]; next_cursor: string }> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(f)) if (v !== undefined) q.set(k, String(v));
    const s = q.toString();
    return this.call("GET", `/v1/rooms${s ? "?" + s : ""}`, undefined, o);
  }

  room(id: string, o?: CallOptions): Promise<Room> {
    return this.call("GET", `/v1/rooms/${enc(id)}`, undefined, o);
  }

  /** Creates a room; a private one comes back with its `code`. */
  createRoom(req: { mode: string; private?: boolean }, o?: CallOptions): Promise<Room> {
    return this.call("POST", "/v1/rooms", { mode: req.mode, private: req.private ?? false }, o);
  }

  /** A seat in a public room. */
  joinRoom(roomId: string, player: Member, o?: CallOptions): Promise<Seat> {
    return this.call("POST", `/v1/rooms/${enc(roomId)}/join`, player, o);
  }

  /**
   * A spectator ticket for a room: connect with
   * `{ ...seatOptions(ticket), spectate: true }` to watch it without a seat
   * (PROTOCOL.md, "Spectators"). A private room needs the lobby's `apiKey`
   * (LobbyError `private_room`, 403, without it); with verified identity a
   * `token` or the API key, as for a join. LobbyError `not_found` (404) for
   * no such room, `match_ended` (409) for one that has ended. The ticket
   * expires (`expires_at`) as a seat's does; a spectator's reconnects use it
   * again until then.
   */
  spectate(roomId: string, o?: CallOptions): Promise<Seat> {
    return this.call("POST", `/v1/rooms/${enc(roomId)}/spectate`, undefined, o);
  }

  /** A seat in the room with this join code (private rooms). */
  joinByCode(code: string, player: Member, o?: CallOptions): Promise<Seat> {
    return this.call("POST", "/v1/rooms/join-by-code", { code, ...player }, o);
  }

  async modes(o?: CallOptions): Promise<Mode[]> {
    return (await this.call<{ modes: Mode[] }>("GET", "/v1/modes", undefined, o)).modes;
  }

  async nodes(o?: CallOptions): Promise<NodeInfo[]> {
    return (await this.call<{ nodes: NodeInfo[] }>("GET", "/v1/nodes", undefined, o)).nodes;
  }

  verifyTicket(joinTicket: string, o?: CallOptions): Promise<TicketClaims> {
    return this.call("POST", "/v1/tickets/verify", { join_ticket: joinTicket }, o);
  }

  // --- leaderboards ---

  async leaderboards(o?: CallOptions): Promise<Board[]> {
    return (await this.call<{ leaderboards: Board[] }>("GET", "/v1/leaderboards", undefined, o)).leaderboards;
  }

  /** The best entries, a page at a time (`next_cursor` is empty on the last page). */
  top(board: string, q: { season?: string; limit?: number; cursor?: string } = {}, o?: CallOptions): Promise<{ entries: Entry[]; next_cursor: string }> {
    return this.call("GET", `/v1/leaderboards/${enc(board)}/entries${query(q)}`, undefined, o);
  }

  /** One player's entry and rank; LobbyError `not_ranked` (404) when it has none. */
  rank(board: string, playerId: string, q: { season?: string } = {}, o?: CallOptions): Promise<Entry> {
    return this.call("GET", `/v1/leaderboards/${enc(board)}/players/${enc(playerId)}${query(q)}`, undefined, o);
  }

  /** The entries around a player: `n` above and below (default 5). */
  async around(board: string, playerId: string, q: { n?: number; season?: string } = {}, o?: CallOptions): Promise<Entry[]> {
    return (await this.call<{ entries: Entry[] }>("GET", `/v1/leaderboards/${enc(board)}/players/${enc(playerId)}/around${query(q)}`, undefined, o)).entries;
  }

  /** The board's seasons, newest first. */
  async seasons(board: string, o?: CallOptions): Promise<Season[]> {
    return (await this.call<{ seasons: Season[] }>("GET", `/v1/leaderboards/${enc(board)}/seasons`, undefined, o)).seasons;
  }

  /** Submits a score (needs the API key). */
  submitScore(board: string, s: Member & { score: number }, o?: CallOptions): Promise<Entry> {
    return this.call("POST", `/v1/leaderboards/${enc(board)}/scores`, s, o);
  }

  /** Creates a board (needs the API key). */
  createBoard(b: Board, o?: CallOptions): Promise<Board> {
    return this.call("POST", "/v1/leaderboards", b, o);
  }

  private async call<T>(method: string, path: string, body: unknown, o?: CallOptions, extraMs = 0): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const bearer = this.options.apiKey || (typeof this.options.token === "function" ? await this.options.token() : this.options.token);
    if (bearer) headers["Authorization"] = `Bearer ${bearer}`;
    const timeout = AbortSignal.timeout((this.options.timeoutMs ?? 10000) + extraMs);
    const signal = o?.signal ? anySignal(o.signal, timeout) : timeout;
    let res: Response;
    try {
      res = await this.fetchFn(this.base + path, {
        method,
        headers,
        signal,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      if (o?.signal?.aborted) throw err;
      const what = timeout.aborted ? "timed out" : "failed";
      throw new LobbyError("network_error", 0, `${method} ${path} ${what}: ${String(err)}`, undefined, { cause: err });
    }
    const text = await res.text();
    if (!res.ok) {
      let code = `http_${res.status}`;
      let message = text.trim() || res.statusText;
      try {
        const e = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } }).error;
        if (e && typeof e.code === "string") {
          code = e.code;
          message = typeof e.message === "string" ? e.message : message;
        }
      } catch {
        // Not the API's JSON (a proxy's page, say): keep the status code.
      }
      const ra = Number(res.headers.get("Retry-After"));
      throw new LobbyError(code, res.status, message, Number.isFinite(ra) && ra > 0 ? ra : undefined);
    }
    if (res.status === 204 || text === "") return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new LobbyError("bad_response", res.status, `${method} ${path}: the answer is not JSON`, undefined, { cause: err });
    }
  }
}

function enc(s: string): string {
  return encodeURIComponent(s);
}

function query(q: Record<string, string | number | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined && v !== "") p.set(k, String(v));
  const s = p.toString();
  return s ? "?" + s : "";
}

/** AbortSignal.any where the platform has it (Node 20.3+, current browsers), else the caller's signal. */
function anySignal(a: AbortSignal, b: AbortSignal): AbortSignal {
  const any = (AbortSignal as { any?: (s: AbortSignal[]) => AbortSignal }).any;
  return any ? any([a, b]) : a;
}
