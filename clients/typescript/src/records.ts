// The records a mirror holds: entities, players and the room, each with its
// declared fields by name, stored as the wire's numbers indexed by mask bit.

import { FieldType } from "./gen/tickwire/v1/tickwire_pb.js";
import { BIT_TEXT, fieldValue, type FieldValue, type Shape, type Vec2, type Vec3 } from "./schema.js";

/**
 * One record's declared fields. `values` and `texts` are indexed by mask bit
 * (a field's components at `field.bit`, `field.bit + 1`, ...), numbers exactly
 * as the server stores them; read them by name with `get`.
 */
export class FieldRecord {
  constructor(
    readonly shape: Shape,
    /** Numbers by mask bit (a text's bit holds 0). Read-only for the game. */
    readonly values: number[],
    /** Texts by mask bit, when the shape has a text field. Read-only for the game. */
    readonly texts: string[] | undefined,
  ) {}

  /** The value of the field with this name, or undefined when the record has no such field. */
  get(name: string): FieldValue | undefined {
    const f = this.shape.field(name);
    return f ? fieldValue(f, this.values, this.texts) : undefined;
  }

  /** A numeric field's value (INT, FIXED, ANGLE, ENUM; BOOL as 0 or 1); undefined for other fields. */
  num(name: string): number | undefined {
    const f = this.shape.field(name);
    return f && f.components === 1 && this.shape.bitKind[f.bit] !== BIT_TEXT ? this.values[f.bit] : undefined;
  }

  /** A POS2 field as {x, y} (a POS3's first two components); undefined for other fields. */
  vec2(name: string): Vec2 | undefined {
    const f = this.shape.field(name);
    return f && (f.type === FieldType.POS2 || f.type === FieldType.POS3) ? { x: this.values[f.bit]!, y: this.values[f.bit + 1]! } : undefined;
  }

  /** A POS3 field as {x, y, z}; undefined for other fields. */
  vec3(name: string): Vec3 | undefined {
    const f = this.shape.field(name);
    return f && f.type === FieldType.POS3 ? { x: this.values[f.bit]!, y: this.values[f.bit + 1]!, z: this.values[f.bit + 2]! } : undefined;
  }

  /** A BOOL field; undefined for other fields. */
  bool(name: string): boolean | undefined {
    const f = this.shape.field(name);
    return f && f.type === FieldType.BOOL ? this.values[f.bit] !== 0 : undefined;
  }

  /** A TEXT field; undefined for other fields. */
  text(name: string): string | undefined {
    const f = this.shape.field(name);
    return f && f.type === FieldType.TEXT ? this.texts![f.bit] : undefined;
  }

  /** Every declared field by name: a plain object, safe to keep. */
  fields(): { [name: string]: FieldValue } {
    const out: { [name: string]: FieldValue } = {};
    for (const f of this.shape.fields) out[f.name] = fieldValue(f, this.values, this.texts);
    return out;
  }
}

/** An entity: its id, its kind number (Schema.kinds[kind-1]) and its kind's fields. */
export class Entity extends FieldRecord {
  constructor(
    readonly id: number,
    readonly kind: number,
    shape: Shape,
    values: number[],
    texts: string[] | undefined,
  ) {
    super(shape, values, texts);
  }

  /** The kind's name. */
  get kindName(): string {
    return this.shape.name;
  }

  /** A copy, detached from the mirror. */
  clone(): Entity {
    return new Entity(this.id, this.kind, this.shape, this.values.slice(), this.texts?.slice());
  }
}

/** A seat: the built-in id, name, entity and score, and the schema's player fields. */
export class Player extends FieldRecord {
  constructor(
    readonly id: number,
    public name: string,
    public entityId: number,
    public score: number,
    shape: Shape,
    values: number[],
    texts: string[] | undefined,
  ) {
    super(shape, values, texts);
  }

  /** A copy, detached from the mirror. */
  clone(): Player {
    return new Player(this.id, this.name, this.entityId, this.score, this.shape, this.values.slice(), this.texts?.slice());
  }
}

/** The room's own fields. */
export class RoomRecord extends FieldRecord {
  clone(): RoomRecord {
    return new RoomRecord(this.shape, this.values.slice(), this.texts?.slice());
  }
}

/** Empty storage for a record of this shape. */
export function emptyValues(sh: Shape): { values: number[]; texts: string[] | undefined } {
  const values = new Array<number>(sh.bits).fill(0);
  return { values, texts: sh.hasText ? new Array<string>(sh.bits).fill("") : undefined };
}
