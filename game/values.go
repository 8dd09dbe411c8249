package game

import "fmt"

// Values holds the declared fields of one record: an [Entity], a [Player] or
// the [World]'s room record. Read and write them with the field handles the
// schema returned: e.Pos2(pos), e.SetInt(hp, 90). A handle of another record
// shape (another kind's field on this entity) panics: that is a bug in the
// game, not something a client can cause.
type Values struct {
	shape *Fields
	v     []int64
	s     []string
}

func newValues(shape *Fields) Values {
	return Values{shape: shape, v: make([]int64, shape.slots), s: make([]string, shape.texts)}
}

// Slots returns the record's numbers in slot order ([Field.Slot]), for
// encoders and checksums; callers must not modify it.
func (r *Values) Slots() []int64 { return r.v }

// Texts returns the record's strings in slot order, under the same terms.
func (r *Values) Texts() []string { return r.s }

func (r *Values) check(shape *Fields) {
	if r.shape != shape {
		panic(fmt.Sprintf("game: a field of %s used on a record of %s", shape.owner, r.shapeName()))
	}
}

func (r *Values) shapeName() string {
	if r.shape == nil {
		return "no declared shape"
	}
	return r.shape.owner
}

// IntField is the handle of a declared integer.
type IntField struct {
	shape *Fields
	slot  int
}

// FixedField is the handle of a declared fixed-point number.
type FixedField struct {
	shape *Fields
	slot  int
	scale int64
}

// Scale is the number of steps per unit.
func (f FixedField) Scale() int64 { return f.scale }

// AngleField is the handle of a declared angle.
type AngleField struct {
	shape *Fields
	slot  int
	mask  uint32
}

// Steps is the number of steps in a full turn (2^bits).
func (f AngleField) Steps() uint64 { return uint64(f.mask) + 1 }

// BoolField is the handle of a declared boolean.
type BoolField struct {
	shape *Fields
	slot  int
}

// EnumField is the handle of a declared enum.
type EnumField struct {
	shape *Fields
	slot  int
	n     int
}

// Pos2Field is the handle of a declared 2D position.
type Pos2Field struct {
	shape *Fields
	slot  int
	scale int64
}

// Scale is the number of steps per unit of each component.
func (f Pos2Field) Scale() int64 { return f.scale }

// Pos3Field is the handle of a declared 3D position.
type Pos3Field struct {
	shape *Fields
	slot  int
	scale int64
}

// Scale is the number of steps per unit of each component.
func (f Pos3Field) Scale() int64 { return f.scale }

// TextField is the handle of a declared text.
type TextField struct {
	shape *Fields
	slot  int
}

// Int reads an integer.
func (r *Values) Int(f IntField) int64 { r.check(f.shape); return r.v[f.slot] }

// SetInt writes an integer.
func (r *Values) SetInt(f IntField, v int64) { r.check(f.shape); r.v[f.slot] = v }

// Fixed reads a fixed-point number as its count of steps (divide by the
// field's Scale for units).
func (r *Values) Fixed(f FixedField) int64 { r.check(f.shape); return r.v[f.slot] }

// SetFixed writes a fixed-point number as a count of steps.
func (r *Values) SetFixed(f FixedField, steps int64) { r.check(f.shape); r.v[f.slot] = steps }

// Angle reads an angle in steps, 0 to 2^bits-1.
func (r *Values) Angle(f AngleField) uint32 { r.check(f.shape); return uint32(r.v[f.slot]) }

// SetAngle writes an angle in steps; it wraps around a full turn.
func (r *Values) SetAngle(f AngleField, steps uint32) {
	r.check(f.shape)
	r.v[f.slot] = int64(steps & f.mask)
}

// Bool reads a boolean.
func (r *Values) Bool(f BoolField) bool { r.check(f.shape); return r.v[f.slot] != 0 }

// SetBool writes a boolean.
func (r *Values) SetBool(f BoolField, v bool) {
	r.check(f.shape)
	r.v[f.slot] = 0
	if v {
		r.v[f.slot] = 1
	}
}

// Enum reads an enum's index.
func (r *Values) Enum(f EnumField) int { r.check(f.shape); return int(r.v[f.slot]) }

// SetEnum writes an enum's index; an index out of the declared values panics.
func (r *Values) SetEnum(f EnumField, i int) {
	r.check(f.shape)
	if i < 0 || i >= f.n {
		panic(fmt.Sprintf("game: enum index %d out of range [0, %d) in %s", i, f.n, f.shape.owner))
	}
	r.v[f.slot] = int64(i)
}

// Pos2 reads a 2D position in steps.
func (r *Values) Pos2(f Pos2Field) (x, y int64) {
	r.check(f.shape)
	return r.v[f.slot], r.v[f.slot+1]
}

// SetPos2 writes a 2D position in steps.
func (r *Values) SetPos2(f Pos2Field, x, y int64) {
	r.check(f.shape)
	r.v[f.slot], r.v[f.slot+1] = x, y
}

// Pos3 reads a 3D position in steps.
func (r *Values) Pos3(f Pos3Field) (x, y, z int64) {
	r.check(f.shape)
	return r.v[f.slot], r.v[f.slot+1], r.v[f.slot+2]
}

// SetPos3 writes a 3D position in steps.
func (r *Values) SetPos3(f Pos3Field, x, y, z int64) {
	r.check(f.shape)
	r.v[f.slot], r.v[f.slot+1], r.v[f.slot+2] = x, y, z
}

// Text reads a text.
func (r *Values) Text(f TextField) string { r.check(f.shape); return r.s[f.slot] }

// SetText writes a text.
func (r *Values) SetText(f TextField, s string) { r.check(f.shape); r.s[f.slot] = s }

// Input is one player command, applied at the next tick in Seq order. Its
// fields are the schema's Input fields: read them with the handles, as
// in.Int(dx). A zero Input (but for Seq) is the neutral input.
type Input struct {
	Seq uint32
	// Slot holds the input's numbers in slot order ([Field.Slot]); netcode
	// fills it from the wire. Games use the handles.
	Slot [MaxInputSlots]int64
}

// Int reads an integer.
func (in *Input) Int(f IntField) int64 { return in.Slot[f.slot] }

// SetInt writes an integer.
func (in *Input) SetInt(f IntField, v int64) { in.Slot[f.slot] = v }

// Fixed reads a fixed-point number as its count of steps.
func (in *Input) Fixed(f FixedField) int64 { return in.Slot[f.slot] }

// SetFixed writes a fixed-point number as a count of steps.
func (in *Input) SetFixed(f FixedField, steps int64) { in.Slot[f.slot] = steps }

// Angle reads an angle in steps.
func (in *Input) Angle(f AngleField) uint32 { return uint32(in.Slot[f.slot]) & f.mask }

// SetAngle writes an angle in steps; it wraps around a full turn.
func (in *Input) SetAngle(f AngleField, steps uint32) { in.Slot[f.slot] = int64(steps & f.mask) }

// Bool reads a boolean.
func (in *Input) Bool(f BoolField) bool { return in.Slot[f.slot] != 0 }

// SetBool writes a boolean.
func (in *Input) SetBool(f BoolField, v bool) {
	in.Slot[f.slot] = 0
	if v {
		in.Slot[f.slot] = 1
	}
}

// Enum reads an enum's index.
func (in *Input) Enum(f EnumField) int { return int(in.Slot[f.slot]) }

// SetEnum writes an enum's index.
func (in *Input) SetEnum(f EnumField, i int) { in.Slot[f.slot] = int64(i) }

// Pos2 reads a 2D position in steps.
func (in *Input) Pos2(f Pos2Field) (x, y int64) { return in.Slot[f.slot], in.Slot[f.slot+1] }

// SetPos2 writes a 2D position in steps.
func (in *Input) SetPos2(f Pos2Field, x, y int64) { in.Slot[f.slot], in.Slot[f.slot+1] = x, y }

// Pos3 reads a 3D position in steps.
func (in *Input) Pos3(f Pos3Field) (x, y, z int64) {
	return in.Slot[f.slot], in.Slot[f.slot+1], in.Slot[f.slot+2]
}

// SetPos3 writes a 3D position in steps.
func (in *Input) SetPos3(f Pos3Field, x, y, z int64) {
	in.Slot[f.slot], in.Slot[f.slot+1], in.Slot[f.slot+2] = x, y, z
}
