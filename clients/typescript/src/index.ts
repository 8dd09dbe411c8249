// @tickwire/client: the TypeScript SDK of the Tickwire game server.

export { Connection, connect, seatOptions, PROTOCOL_VERSION } from "./connection.js";
export type {
  ConnectionOptions, ConnectionEvents, ConnectionStats, ReconnectOptions,
  WelcomeEvent, StateEvent, GameEvent, ChatEvent, ResyncEvent, MatchEndEvent, DisconnectedEvent, ReconnectingEvent, ClosedEvent,
} from "./connection.js";
export { Lobby } from "./lobby.js";
export type {
  LobbyOptions, CallOptions, Member, PartyMember, Consent, QueueRequest, Seat, Assignment, TicketStatus, MatchTicket, Room, RoomState,
  RoomFilter, Mode, NodeInfo, Board, Entry, Season, TicketClaims,
} from "./lobby.js";
export { TickwireError, LobbyError, ServerError, SpectatorError, ProtocolError, describeClose, errorCodeName } from "./errors.js";
export type { CloseReason } from "./errors.js";
export { MirrorError, toSafeNumber } from "./mirror.js";
export type { StateMirror, MirrorFactory, MirrorFault, MirrorChanges } from "./mirror.js";
export { SchemaMirror } from "./schemamirror.js";
export type { GameState, GameChanges } from "./schemamirror.js";
export { Schema, Shape, stateChecksum, encodeInput, fullValue, encodeValue, MAX_BITS } from "./schema.js";
export type { Field, FieldValue, Vec2, Vec3, InputFields, RecordValues } from "./schema.js";
export { FieldRecord, Entity, Player, RoomRecord } from "./records.js";
export { ServerClock, TickSchedule, nowUs } from "./clock.js";
export { Predictor } from "./prediction.js";
export type { StepFn, PendingInput } from "./prediction.js";
export { InterpolationBuffer, lerp, lerpAngle } from "./interpolation.js";
export type { Frame, Sample } from "./interpolation.js";
export { defaultWebSocket, socketURL } from "./socket.js";
export type { SocketLike, WebSocketConstructor } from "./socket.js";
export { ErrorCode, MatchPhase, MatchEndReason, FieldType } from "./gen/tickwire/v1/tickwire_pb.js";
export type { Welcome, Snapshot, Delta, MatchInfo } from "./gen/tickwire/v1/tickwire_pb.js";
