// The room's schema (PROTOCOL.md, "Schema"): what its entities, players, room
// and inputs are made of, decoded from Welcome.schema. Everything the mirror,
// the checksum and sendInput do follows from it; no game's fields are known
// here.

import { FieldType, type FieldSpec, type Schema as SchemaProto } from "./gen/tickwire/v1/tickwire_pb.js";
import { MirrorError } from "./mirror.js";

/** A 2D position, in steps of its field's scale. */
export interface Vec2 {
  x: number;
  y: number;
}

/** A 3D position, in steps of its field's scale. */
export interface Vec3 {
  x: number;
  y: number;
  z: number;
}

/**
 * A field's value as the server stores it: INT, FIXED (steps of 1/scale),
 * ANGLE (steps of a turn) and ENUM (the index into `values`) are numbers,
 * BOOL a boolean, TEXT a string, POS2 and POS3 a Vec2 or Vec3 (steps of
 * 1/scale).
 */
export type FieldValue = number | boolean | string | Vec2 | Vec3;

/** The largest number of mask bits one record may use. */
export const MAX_BITS = 64;

/** One declared field of a record. */
export interface Field {
  readonly name: string;
  readonly type: FieldType;
  /** FIXED, POS2, POS3: steps per unit. */
  readonly scale: number;
  /** ANGLE: the angle's size in bits. */
  readonly bits: number;
  /** ENUM: the values' names, index 0 first. */
  readonly values: readonly string[];
  /** The mask bit of the field's first component (also its index in a record's values). */
  readonly bit: number;
  /** Its number of components: 2 for POS2, 3 for POS3, else 1. */
  readonly components: number;
}

/** The fields of one record: an entity kind, the player record, the room or the input. */
export class Shape {
  /** The mask bits (components) the record uses. */
  readonly bits: number;
  /** Whether some field is a text (records keep `texts` then). */
  readonly hasText: boolean;
  /** Per mask bit: 1 for a signed component (INT, FIXED, positions), 2 for a text, 0 otherwise. */
  readonly bitKind: Uint8Array;
  /** Every mask bit the shape has, as the low and high 32-bit words of the mask. */
  readonly allLo: number;
  readonly allHi: number;
  private readonly byName = new Map<string, Field>();

  constructor(
    /** The kind's name, or "player", "room" or "input". */
    readonly name: string,
    readonly fields: readonly Field[],
  ) {
    let bits = 0;
    for (const f of fields) bits = f.bit + f.components;
    this.bits = bits;
    this.bitKind = new Uint8Array(bits);
    let text = false;
    for (const f of fields) {
      this.byName.set(f.name, f);
      for (let c = 0; c < f.components; c++) {
        if (f.type === FieldType.TEXT) {
          this.bitKind[f.bit + c] = BIT_TEXT;
          text = true;
        } else if (isSigned(f.type)) {
          this.bitKind[f.bit + c] = BIT_SIGNED;
        }
      }
    }
    this.hasText = text;
    this.allLo = bits >= 32 ? 0xffffffff : 2 ** bits - 1;
    this.allHi = bits <= 32 ? 0 : bits >= 64 ? 0xffffffff : 2 ** (bits - 32) - 1;
  }

  /** The field with this name. */
  field(name: string): Field | undefined {
    return this.byName.get(name);
  }
}

export const BIT_SIGNED = 1;
export const BIT_TEXT = 2;

function isSigned(t: FieldType): boolean {
  return t === FieldType.INT || t === FieldType.FIXED || t === FieldType.POS2 || t === FieldType.POS3;
}

/** A room's declared state, from its Welcome. */
export class Schema {
  /** Kind number k is kinds[k-1]. */
  readonly kinds: readonly Shape[];
  readonly player: Shape;
  readonly room: Shape;
  readonly input: Shape;

  /** Checks and converts a Welcome's schema; throws MirrorError("malformed") naming the bad field. */
  constructor(s: SchemaProto | undefined) {
    if (!s) throw new MirrorError("malformed", "the welcome has no schema");
    this.kinds = s.kinds.map((k) => shapeOf(k.name, k.fields));
    this.player = shapeOf("player", s.playerFields);
    this.room = shapeOf("room", s.roomFields);
    this.input = shapeOf("input", s.inputFields);
  }

  /** The shape of kind number k, or undefined for an unknown kind. */
  kind(k: number): Shape | undefined {
    return this.kinds[k - 1];
  }

  /** The kind with this name and its number (as in Entity.kind). */
  kindNamed(name: string): { shape: Shape; kind: number } | undefined {
    const i = this.kinds.findIndex((k) => k.name === name);
    return i < 0 ? undefined : { shape: this.kinds[i]!, kind: i + 1 };
  }
}

function shapeOf(name: string, specs: readonly FieldSpec[]): Shape {
  const fields: Field[] = [];
  const seen = new Set<string>();
  let bit = 0;
  for (const f of specs) {
    let components = 1;
    switch (f.type) {
      case FieldType.POS2:
        components = 2;
        break;
      case FieldType.POS3:
        components = 3;
        break;
      case FieldType.INT: case FieldType.FIXED: case FieldType.ANGLE: case FieldType.BOOL: case FieldType.ENUM: case FieldType.TEXT:
        break;
      default:
        throw new MirrorError("malformed", `schema ${name}: field "${f.name}" has unknown type ${f.type}`);
    }
    if (seen.has(f.name)) throw new MirrorError("malformed", `schema ${name}: field "${f.name}" declared twice`);
    seen.add(f.name);
    if (bit + components > MAX_BITS) {
      throw new MirrorError("malformed", `schema ${name}: field "${f.name}" past mask bit ${MAX_BITS - 1}`);
    }
    fields.push({ name: f.name, type: f.type, scale: f.scale, bits: f.bits, values: f.values, bit, components });
    bit += components;
  }
  return new Shape(name, fields);
}

/** A record's value of field f, from its values and texts indexed by mask bit. */
export function fieldValue(f: Field, values: readonly number[], texts: readonly string[] | undefined): FieldValue {
  const b = f.bit;
  switch (f.type) {
    case FieldType.POS2:
      return { x: values[b]!, y: values[b + 1]! };
    case FieldType.POS3:
      return { x: values[b]!, y: values[b + 1]!, z: values[b + 2]! };
    case FieldType.BOOL:
      return values[b] !== 0;
    case FieldType.TEXT:
      return texts![b]!;
    default:
      return values[b]!;
  }
}

/** Whether field f differs between two records of the same shape. */
export function fieldDiffers(f: Field, av: readonly number[], at: readonly string[] | undefined, bv: readonly number[], bt: readonly string[] | undefined): boolean {
  if (f.type === FieldType.TEXT) return at![f.bit] !== bt![f.bit];
  for (let c = f.bit; c < f.bit + f.components; c++) if (av[c] !== bv[c]) return true;
  return false;
}

// --- values on the wire (PROTOCOL.md, "Values") ---

/**
 * A full value of a component from its varint: zigzag-decoded when signed.
 * Converted to a number once; a value beyond ±2^53 is refused, not rounded.
 */
export function fullValue(signed: boolean, w: bigint): number {
  const n = Number(w);
  // Hot path: most values are small, and integer operations decode them.
  if (n < 2147483648) return signed ? (n >>> 1) ^ -(n & 1) : n;
  if (n <= Number.MAX_SAFE_INTEGER) {
    // n is exact here: a varint at or below 2^53 - 1 converts exactly.
    if (!signed) return n;
    return n % 2 === 1 ? -(n + 1) / 2 : n / 2;
  }
  if (!signed) throw unsafe(w);
  const v = (w >> 1n) ^ -(w & 1n);
  const m = Number(v);
  if (!Number.isSafeInteger(m)) throw unsafe(v);
  return m;
}

function unsafe(v: bigint): MirrorError {
  return new MirrorError("malformed", `value ${v} is outside the safe integer range of a JavaScript number`);
}

/** The varint of a component's full value: zigzag-coded when signed. */
export function encodeValue(signed: boolean, v: number): bigint {
  const b = BigInt(v);
  if (!signed) return b;
  return b >= 0n ? b << 1n : ((-b) << 1n) - 1n;
}

// --- the checksum (PROTOCOL.md, "Checksum") ---

export const FNV_OFFSET = 0x811c9dc5;

/** A record as the checksum reads it: numbers and texts indexed by mask bit. */
export interface RecordValues {
  readonly values: readonly number[];
  readonly texts?: readonly string[] | undefined;
}

/**
 * The state checksum: FNV-1a 32 over every entity in ascending id order (id
 * u32, kind u32, its kind's fields), every player in ascending id order (id
 * u32, score i64, the player fields) and the room's fields. Each numeric
 * component is an i64, each text its UTF-8 byte length (u32) and bytes; all
 * little-endian. Hot path: runs on every frame, and allocates nothing.
 */
export function stateChecksum(
  schema: Schema,
  entities: readonly (RecordValues & { readonly id: number; readonly kind: number })[],
  players: readonly (RecordValues & { readonly id: number; readonly score: number })[],
  room: RecordValues,
): number {
  let h = FNV_OFFSET | 0;
  for (let i = 0; i < entities.length; i++) {
    const e = entities[i]!;
    h = mix32(h, e.id);
    h = mix32(h, e.kind);
    const sh = schema.kind(e.kind);
    if (sh) h = hashRecord(h, sh, e);
  }
  for (let i = 0; i < players.length; i++) {
    const p = players[i]!;
    h = mix32(h, p.id);
    h = mix64(h, p.score);
    h = hashRecord(h, schema.player, p);
  }
  return hashRecord(h, schema.room, room) >>> 0;
}

function hashRecord(h: number, sh: Shape, r: RecordValues): number {
  const kinds = sh.bitKind;
  const vals = r.values;
  for (let b = 0; b < sh.bits; b++) {
    if (kinds[b] !== BIT_TEXT) h = mix64(h, vals[b]!);
    else h = hashText(h, r.texts![b]!);
  }
  return h;
}

// FNV-1a of a zero byte is a multiply by the prime, so k zero bytes are one
// multiply by the prime's k-th power (mod 2^32): most words are small, and
// their high bytes cost one multiply together.
const P = 16777619;
const P2 = Math.imul(P, P);
const P3 = Math.imul(P2, P);
const P4 = Math.imul(P3, P);
const P6 = Math.imul(P4, P2);
const P7 = Math.imul(P6, P);

/** FNV-1a over the four little-endian bytes of a 32-bit word. */
function mix32(h: number, v: number): number {
  v >>>= 0;
  if (v < 0x100) return Math.imul(Math.imul(h ^ v, P), P3);
  if (v < 0x10000) return Math.imul(Math.imul(Math.imul(h ^ (v & 0xff), P) ^ (v >>> 8), P), P2);
  h = Math.imul(h ^ (v & 0xff), P);
  h = Math.imul(h ^ ((v >>> 8) & 0xff), P);
  h = Math.imul(h ^ ((v >>> 16) & 0xff), P);
  return Math.imul(h ^ (v >>> 24), P);
}

/**
 * An i64 in two's complement, low word first; exact for any safe integer
 * (ToUint32 takes the value modulo 2^32, negative ones included).
 */
function mix64(h: number, v: number): number {
  if (v >= 0) {
    if (v < 0x100) return Math.imul(Math.imul(h ^ v, P), P7);
    if (v < 0x10000) return Math.imul(Math.imul(Math.imul(h ^ (v & 0xff), P) ^ (v >>> 8), P), P6);
    if (v <= 0xffffffff) return Math.imul(mix32(h, v), P4);
  }
  h = mix32(h, v >>> 0);
  return mix32(h, v < 0 && v >= -0x100000000 ? 0xffffffff : Math.floor(v / 4294967296) >>> 0);
}

/** A text's UTF-8 byte length and bytes, encoded on the fly (no allocation). */
function hashText(h: number, s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3; // a lone surrogate is U+FFFD, as TextEncoder writes it
  }
  h = mix32(h, n);
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      h = Math.imul(h ^ c, P);
      continue;
    }
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(++i) - 0xdc00);
      h = Math.imul(h ^ (0xf0 | (c >> 18)), P);
      h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), P);
    } else if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), P);
      h = Math.imul(h ^ (0x80 | (c & 0x3f)), P);
      continue;
    } else {
      if (c >= 0xd800 && c < 0xe000) c = 0xfffd;
      h = Math.imul(h ^ (0xe0 | (c >> 12)), P);
    }
    h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), P);
    h = Math.imul(h ^ (0x80 | (c & 0x3f)), P);
  }
  return h;
}

// --- inputs (PROTOCOL.md, "Inputs, acks and prediction") ---

/**
 * An input's fields by name: numbers for INT, FIXED (in steps), ANGLE (in
 * steps) and ENUM (an index, or the value's name); booleans for BOOL; Vec2
 * and Vec3 for positions. A field left out is 0.
 */
export type InputFields = { readonly [name: string]: number | boolean | string | Vec2 | Vec3 | undefined };

/**
 * The Input.values of named input fields, in bit order (trailing zeros left
 * out). Throws a RangeError for a field the schema does not declare or a value
 * its type cannot hold, which the server would refuse with BAD_FRAME.
 */
export function encodeInput(sh: Shape, fields: InputFields): bigint[] {
  const comps = new Array<number>(sh.bits).fill(0);
  for (const name of Object.keys(fields)) {
    const v = fields[name];
    if (v === undefined) continue;
    const f = sh.field(name);
    if (!f) throw new RangeError(`input field "${name}" is not in the schema (${sh.fields.map((x) => x.name).join(", ") || "no input fields"})`);
    inputComponents(f, v, comps);
  }
  let n = comps.length;
  while (n > 0 && comps[n - 1] === 0) n--;
  const out = new Array<bigint>(n);
  for (let b = 0; b < n; b++) out[b] = encodeValue(sh.bitKind[b] === BIT_SIGNED, comps[b]!);
  return out;
}

function inputComponents(f: Field, v: number | boolean | string | Vec2 | Vec3, comps: number[]): void {
  const bad = (why: string) => new RangeError(`input field "${f.name}": ${why}`);
  const int = (x: unknown, what = "value"): number => {
    if (typeof x !== "number" || !Number.isSafeInteger(x)) throw bad(`${what} ${String(x)} is not a safe integer`);
    return x;
  };
  switch (f.type) {
    case FieldType.POS2:
    case FieldType.POS3: {
      if (typeof v !== "object") throw bad(`want {x, y${f.components === 3 ? ", z" : ""}}, got ${String(v)}`);
      const p = v as Partial<Vec3>;
      comps[f.bit] = int(p.x, "x");
      comps[f.bit + 1] = int(p.y, "y");
      if (f.components === 3) comps[f.bit + 2] = int(p.z, "z");
      return;
    }
    case FieldType.BOOL:
      if (typeof v === "boolean") comps[f.bit] = v ? 1 : 0;
      else if (v === 0 || v === 1) comps[f.bit] = v;
      else throw bad(`want a boolean, got ${String(v)}`);
      return;
    case FieldType.ENUM: {
      const i = typeof v === "string" ? f.values.indexOf(v) : int(v);
      if (i < 0 || i >= f.values.length) throw bad(`${String(v)} is not one of ${f.values.join(", ")}`);
      comps[f.bit] = i;
      return;
    }
    case FieldType.ANGLE: {
      const a = int(v);
      if (a < 0 || a >= 2 ** f.bits) throw bad(`angle ${a} is outside 0 to 2^${f.bits} - 1`);
      comps[f.bit] = a;
      return;
    }
    case FieldType.TEXT:
      throw bad("an input has no text fields");
    default:
      comps[f.bit] = int(v);
  }
}
