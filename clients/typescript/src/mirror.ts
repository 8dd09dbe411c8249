// The state mirror: the client's copy of the room state, kept in step with
// the server frame by frame and verified against each frame's checksum.
//
// The connection knows only this interface. The SDK's implementation is the
// schema-driven SchemaMirror (schemamirror.ts), which decodes any game from
// the Welcome's schema; a game may plug in its own through a MirrorFactory.

import type { Delta, Snapshot, Welcome } from "./gen/tickwire/v1/tickwire_pb.js";
import { ProtocolError } from "./errors.js";
import type { FieldValue } from "./schema.js";
import type { DeltaFrame } from "./wire.js";

/** Why a mirror refused a frame; each one makes the connection ask for a snapshot. */
export type MirrorFault =
  /** The delta's base tick is not the mirror's tick. */
  | "base_tick"
  /** The state after the frame does not match the server's checksum. */
  | "checksum"
  /** The frame is inconsistent with the state (a short column, an unknown id, ...). */
  | "malformed";

/** A frame the mirror could not apply. The mirror is out of sync after it. */
export class MirrorError extends ProtocolError {
  override name = "MirrorError";
  constructor(
    readonly fault: MirrorFault,
    message: string,
  ) {
    super(message);
  }
}

export interface StateMirror {
  /** The tick of the state the mirror holds (0 before the first snapshot). */
  readonly tick: number;
  /** True after a verified snapshot or delta; false after a refused frame until the next snapshot. */
  readonly synced: boolean;
  /** The checksum of the state the mirror holds, as it computed it. */
  readonly checksum: number;
  /**
   * Replaces the whole state with a snapshot (a Welcome's or a resync's),
   * then verifies its checksum. Throws MirrorError on any inconsistency.
   */
  applySnapshot(snapshot: Snapshot): void;
  /**
   * Applies a delta to the state at its base tick and verifies the checksum.
   * Throws MirrorError on any inconsistency; the state is then undefined
   * until the next snapshot.
   */
  applyDelta(delta: Delta): void;
  /**
   * Optional, the same from a delta read straight into numbers (wire.ts):
   * when a mirror has it, the connection reads deltas that way, without the
   * bigints of the generated code.
   */
  applyDeltaFrame?(delta: DeltaFrame): void;
}

/** Builds the mirror for a room from its Welcome (which carries the room's schema). */
export type MirrorFactory<M extends StateMirror = StateMirror> = (welcome: Welcome) => M;

/**
 * A bigint from the wire as a number. Ticks, microsecond times and scores all
 * fit in 2^53 in practice; a value that does not is refused rather than rounded,
 * so a mirror can never be silently wrong.
 */
export function toSafeNumber(v: bigint, what: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) {
    throw new MirrorError("malformed", `${what} ${v} is outside the safe integer range of a JavaScript number`);
  }
  return n;
}

/**
 * The change callbacks of a mirror, for games that update their scene from
 * changes rather than reading the whole state each frame. They fire only once
 * a frame is verified, and describe the change from one verified state to the
 * next: a refused frame fires nothing, and the snapshot that repairs it fires
 * exactly the difference, so a scene kept from these events never drifts from
 * the mirror. Within a frame they come in this order: entities removed,
 * changed, added; players left, joined, changed; room fields changed.
 */
export interface MirrorChanges<E, P> {
  entityAdded: { entity: Readonly<E> };
  /** The entity as it last was. */
  entityRemoved: { entity: Readonly<E> };
  /** One declared field of the entity's kind changed (a position as a whole: `value` is its Vec2 or Vec3). */
  entityChanged: { entity: Readonly<E>; field: string; value: FieldValue; previous: FieldValue };
  playerJoined: { player: Readonly<P> };
  /** The player as it last was. */
  playerLeft: { player: Readonly<P> };
  /** A built-in field (`name`, `entityId`, `score`) or a declared player field changed. */
  playerChanged: { player: Readonly<P>; field: string; value: FieldValue; previous: FieldValue };
  /** A declared room field, or the built-in `phase` or `endTick`, changed. */
  roomChanged: { field: string; value: FieldValue; previous: FieldValue };
}
