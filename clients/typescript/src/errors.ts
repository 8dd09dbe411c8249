// Typed errors: what the lobby API and the game socket report, with the
// stable codes of README.md ("Lobby API") and PROTOCOL.md ("Errors and close
// codes").

import { ErrorCode } from "./gen/tickwire/v1/tickwire_pb.js";

/** The base class of every error this SDK throws or emits. */
export class TickwireError extends Error {
  override name = "TickwireError";
}

/**
 * A lobby API call failed. `code` is the stable code of the server's error
 * body (`room_full`, `unknown_code`, `store_unavailable`, ...), `status` the
 * HTTP status. A call that got no HTTP answer at all has status 0 and code
 * `network_error`; an answer that is not the API's JSON has code
 * `bad_response`.
 */
export class LobbyError extends TickwireError {
  override name = "LobbyError";
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** Seconds from the Retry-After header (a 503 `store_unavailable`, a 429 `rate_limited`), when there was one. */
    readonly retryAfter?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The name of a wire error code (`REPLACED`, `ROOM_FULL`, ...); `UNKNOWN_<n>` for a code this SDK does not know. */
export function errorCodeName(code: number): string {
  return (ErrorCode as unknown as Record<number, string | undefined>)[code] ?? `UNKNOWN_${code}`;
}

/**
 * The server refused a join or ended the connection: it sent an `Error`
 * frame (and then closed with 4000 + code), or closed with a 4xxx code
 * without one. `code` is the wire `ErrorCode`, `codeName` its name.
 */
export class ServerError extends TickwireError {
  override name = "ServerError";
  readonly codeName: string;
  constructor(
    readonly code: ErrorCode,
    message: string,
    /**
     * JOIN_REFUSED: the game's own stable code for why ("team_full"), with
     * the game's words for the player in the message; empty otherwise.
     */
    readonly reason = "",
  ) {
    super(`${errorCodeName(code)}: ${reason ? `${reason}: ` : ""}${message}`);
    this.codeName = errorCodeName(code);
  }
}

/**
 * A spectator connection (`spectate: true`) was asked to send what only a
 * player may: an input, a game message or a chat line. Nothing was sent.
 * `code` and `codeName` are those of the server's own answer to such a frame
 * (`Error{SPECTATOR}`, a `serverError` event), so one check covers both.
 */
export class SpectatorError extends TickwireError {
  override name = "SpectatorError";
  readonly code = ErrorCode.SPECTATOR;
  readonly codeName = "SPECTATOR";
}

/** A frame from the server that this SDK cannot apply (a bug or a corruption; never silent). */
export class ProtocolError extends TickwireError {
  override name = "ProtocolError";
}

/** Why a connection ended, as the game sees it. */
export type CloseReason =
  /** The client called leave() and the server closed with 1000. */
  | "left"
  /** The client called close(): the seat is held for the rejoin grace. */
  | "closed"
  /** The match ended (MatchEnd, then 1000). */
  | "match_ended"
  /** The server is going away (1001). */
  | "going_away"
  /** Another connection rejoined this seat (REPLACED): never reconnect on your own. */
  | "replaced"
  /** The seat is gone (RESUME_EXPIRED): join again as a new player. */
  | "resume_expired"
  /** The room has as many spectators as the server takes (SPECTATORS_FULL, 4019): never reconnect on your own. */
  | "spectators_full"
  /** The server refused or ended the session with another error code (see `error`). */
  | "error"
  /** The connection dropped and reconnecting failed (or is turned off). */
  | "network";

/**
 * What a WebSocket close code means under PROTOCOL.md: the error code of a
 * 4xxx close, and whether a client may reconnect with its resume token.
 */
export function describeClose(closeCode: number): { errorCode?: ErrorCode; retryable: boolean } {
  if (closeCode >= 4000 && closeCode < 5000) {
    const errorCode = (closeCode - 4000) as ErrorCode;
    return { errorCode, retryable: retryableError(errorCode) };
  }
  switch (closeCode) {
    case 1000: // left or the match ended
    case 1001: // the server is going away; its matches ended
    case 1009: // a frame far over the read limit: reconnecting would repeat it
      return { retryable: false };
  }
  // 1005 (no status), 1006 (abnormal: the network dropped), 1011, 1012, ...
  return { retryable: true };
}

/**
 * Errors after which a reconnect may take the held seat back and is likely
 * to work. The server also holds the seat after BAD_FRAME and
 * FRAME_TOO_LARGE, but those are a client's bug that a reconnect would
 * repeat: the game gets them (it can still resume with the token).
 */
function retryableError(code: ErrorCode): boolean {
  switch (code) {
    case ErrorCode.IDLE_TIMEOUT:
    case ErrorCode.SLOW_CONSUMER:
    case ErrorCode.INTERNAL:
    case ErrorCode.RATE_LIMITED:
      return true;
  }
  return false;
}
