package game

import (
	"errors"
	"fmt"
)

// FieldType is the type of a declared field. It fixes how the field is stored,
// sent and checksummed (PROTOCOL.md, "Schema").
type FieldType uint8

// Field types.
const (
	// TypeInt is a signed 64-bit integer.
	TypeInt FieldType = iota + 1
	// TypeFixed is a fixed-point number stored as an integer count of steps of
	// 1/Scale of a unit (Scale 100: hundredths).
	TypeFixed
	// TypeAngle is a heading in Bits bits: 0 to 2^Bits-1 steps of a full turn.
	TypeAngle
	// TypeBool is false or true.
	TypeBool
	// TypeEnum is an index into a small list of named values.
	TypeEnum
	// TypePos2 and TypePos3 are 2D and 3D positions, each component a
	// fixed-point integer in steps of 1/Scale of a unit.
	TypePos2
	TypePos3
	// TypeText is a string. Send only what rarely changes (names, labels): a
	// change sends the whole string.
	TypeText
)

func (t FieldType) String() string {
	switch t {
	case TypeInt:
		return "int"
	case TypeFixed:
		return "fixed"
	case TypeAngle:
		return "angle"
	case TypeBool:
		return "bool"
	case TypeEnum:
		return "enum"
	case TypePos2:
		return "pos2"
	case TypePos3:
		return "pos3"
	case TypeText:
		return "text"
	}
	return "unknown"
}

// Components is the number of mask bits (and values) the type takes: 2 for a
// 2D position, 3 for a 3D one, 1 for every other type.
func (t FieldType) Components() int {
	switch t {
	case TypePos2:
		return 2
	case TypePos3:
		return 3
	}
	return 1
}

// Limits a schema must fit in; Validate names the field that breaks one.
const (
	// MaxBits is the number of mask bits a kind, the player record, the room
	// record or the input may use: one per field, two per 2D position, three
	// per 3D position.
	MaxBits = 64
	// MaxInputSlots is the number of values an input may carry (a 3D
	// position takes three). Inputs carry no text.
	MaxInputSlots = 16
	// MaxKinds is the number of entity kinds a schema may declare.
	MaxKinds = 255
	// MaxScale is the finest precision of a fixed-point field or a position:
	// a millionth of a unit.
	MaxScale = 1_000_000
	// MaxAngleBits is the most bits an angle may take.
	MaxAngleBits = 32
	// MaxEnumValues is the most values an enum may name.
	MaxEnumValues = 256
	// maxNameLen bounds field, kind and enum value names.
	maxNameLen = 32
)

// ErrSchema is wrapped by every schema validation error.
var ErrSchema = errors.New("invalid schema")

// Field describes one declared field. Read it to encode or describe a
// schema; declare fields with the methods of [Fields].
type Field struct {
	Name string
	Type FieldType
	// Scale is the number of steps per unit of a fixed-point field or a
	// position; 0 for the other types.
	Scale int64
	// Bits is the size of an angle; 0 for the other types.
	Bits int
	// Values names an enum's values, index 0 first; nil for the other types.
	Values []string
	// Bit is the mask bit of the field's first component: fields take bits in
	// declaration order, a position one per component.
	Bit int
	// Slot is where the field's first component is stored among the record's
	// numbers ([Values.Slots]), or, for a text field, where its string is
	// stored among its strings ([Values.Texts]).
	Slot int
}

// Fields is the declared shape of one record: an entity kind, the player
// record, the room record or the input. Declare fields in the order they go
// on the wire; each declaring method returns the handle the game reads and
// writes the field with. Declaration errors (a duplicate name, a bad
// precision, too many fields) are kept and reported by [Schema.Validate],
// so declarations can be chained without checks.
type Fields struct {
	owner  string // "kind orb", "player", "room", "input": for errors
	input  bool
	fields []Field
	bits   int // mask bits used
	slots  int // numbers stored
	texts  int // strings stored
	err    error
}

// List returns the declared fields in declaration order. Callers must not
// modify it.
func (f *Fields) List() []Field { return f.fields }

// Bits is the number of mask bits the record uses.
func (f *Fields) Bits() int { return f.bits }

// NumSlots is how many numbers a record of this shape stores.
func (f *Fields) NumSlots() int { return f.slots }

// NumTexts is how many strings a record of this shape stores.
func (f *Fields) NumTexts() int { return f.texts }

func (f *Fields) fail(name, format string, args ...any) {
	if f.err == nil {
		f.err = fmt.Errorf("%w: %s: field %q: %s", ErrSchema, f.owner, name, fmt.Sprintf(format, args...))
	}
}

// add declares a field and returns its slot.
func (f *Fields) add(fd Field) int {
	if !validName(fd.Name) {
		f.fail(fd.Name, "a name is 1 to %d characters of a-z, 0-9 and _, starting with a letter", maxNameLen)
	}
	for _, o := range f.fields {
		if o.Name == fd.Name {
			f.fail(fd.Name, "declared twice")
		}
	}
	n := fd.Type.Components()
	if f.bits+n > MaxBits {
		f.fail(fd.Name, "too many fields: it would use mask bit %d, and a record has %d", f.bits+n-1, MaxBits)
	}
	fd.Bit = f.bits
	f.bits += n
	if fd.Type == TypeText {
		if f.input {
			f.fail(fd.Name, "an input carries no text")
		}
		fd.Slot = f.texts
		f.texts++
	} else {
		fd.Slot = f.slots
		f.slots += n
		if f.input && f.slots > MaxInputSlots {
			f.fail(fd.Name, "too many input values: %d, at most %d", f.slots, MaxInputSlots)
		}
	}
	f.fields = append(f.fields, fd)
	return fd.Slot
}

func (f *Fields) checkScale(name string, scale int64) {
	if scale < 1 || scale > MaxScale {
		f.fail(name, "precision 1/%d cannot be represented: steps per unit must be 1 to %d", scale, MaxScale)
	}
}

// Int declares a signed integer.
func (f *Fields) Int(name string) IntField {
	return IntField{f, f.add(Field{Name: name, Type: TypeInt})}
}

// Fixed declares a fixed-point number in steps of 1/scale of a unit
// (scale 16: sixteenths; scale 100: hundredths).
func (f *Fields) Fixed(name string, scale int64) FixedField {
	f.checkScale(name, scale)
	return FixedField{f, f.add(Field{Name: name, Type: TypeFixed, Scale: scale}), scale}
}

// Angle declares a heading in bits bits (8: 256 steps to a turn).
func (f *Fields) Angle(name string, bits int) AngleField {
	if bits < 1 || bits > MaxAngleBits {
		f.fail(name, "an angle takes 1 to %d bits, not %d", MaxAngleBits, bits)
	}
	mask := uint32(1<<min(max(bits, 1), MaxAngleBits) - 1)
	return AngleField{f, f.add(Field{Name: name, Type: TypeAngle, Bits: bits}), mask}
}

// Bool declares a boolean.
func (f *Fields) Bool(name string) BoolField {
	return BoolField{f, f.add(Field{Name: name, Type: TypeBool})}
}

// Enum declares a small enum whose values are named, index 0 first. A new
// record holds index 0.
func (f *Fields) Enum(name string, values ...string) EnumField {
	if len(values) < 1 || len(values) > MaxEnumValues {
		f.fail(name, "an enum names 1 to %d values, not %d", MaxEnumValues, len(values))
	}
	for i, v := range values {
		if !validName(v) {
			f.fail(name, "enum value %q is not a name of a-z, 0-9 and _", v)
		}
		for _, o := range values[:i] {
			if o == v {
				f.fail(name, "enum value %q named twice", v)
			}
		}
	}
	vals := append([]string(nil), values...)
	return EnumField{f, f.add(Field{Name: name, Type: TypeEnum, Values: vals}), len(vals)}
}

// Pos2 declares a 2D position, each component in steps of 1/scale of a unit.
func (f *Fields) Pos2(name string, scale int64) Pos2Field {
	f.checkScale(name, scale)
	return Pos2Field{f, f.add(Field{Name: name, Type: TypePos2, Scale: scale}), scale}
}

// Pos3 declares a 3D position, each component in steps of 1/scale of a unit.
func (f *Fields) Pos3(name string, scale int64) Pos3Field {
	f.checkScale(name, scale)
	return Pos3Field{f, f.add(Field{Name: name, Type: TypePos3, Scale: scale}), scale}
}

// Text declares a string that rarely changes (a name, a label).
func (f *Fields) Text(name string) TextField {
	return TextField{f, f.add(Field{Name: name, Type: TypeText})}
}

// Kind is one kind of entity and its fields. Its number on the wire is its
// place in the schema, from 1.
type Kind struct {
	Fields
	name string
	id   uint32
}

// Name is the kind's declared name.
func (k *Kind) Name() string { return k.name }

// ID is the kind's number on the wire: 1 for the first declared kind.
func (k *Kind) ID() uint32 { return k.id }

// Schema is what a game's state is made of: its entity kinds, the fields of
// every player and of the room, and the input a player sends. Everything
// below the game (the encoder, the wire, the checksum, the bots, any client)
// follows from it.
//
// Build one with [NewSchema] and the declaring methods, once per game (it may
// be shared by every room of that game); the room validates it at start.
// Every player also has a score, and every input a seq: those are built in.
type Schema struct {
	kinds []*Kind
	// Player is the shape of every player's record, besides its built-in id,
	// name, entity and score.
	Player Fields
	// Room is the shape of the room's own record (round, timer, whose turn).
	Room Fields
	// Input is the shape of the input a player sends, besides its seq.
	Input Fields
	err   error
}

// NewSchema returns an empty schema: no kinds, no player, room or input
// fields.
func NewSchema() *Schema {
	s := &Schema{}
	s.Player.owner, s.Room.owner, s.Input.owner = "player", "room", "input"
	s.Input.input = true
	return s
}

// Kind declares an entity kind; declare its fields on the result.
func (s *Schema) Kind(name string) *Kind {
	k := &Kind{name: name, id: uint32(len(s.kinds) + 1)}
	k.owner = "kind " + name
	switch {
	case !validName(name) && s.err == nil:
		s.err = fmt.Errorf("%w: kind %q: a name is 1 to %d characters of a-z, 0-9 and _, starting with a letter", ErrSchema, name, maxNameLen)
	case len(s.kinds) >= MaxKinds && s.err == nil:
		s.err = fmt.Errorf("%w: kind %q: too many kinds, at most %d", ErrSchema, name, MaxKinds)
	}
	for _, o := range s.kinds {
		if o.name == name && s.err == nil {
			s.err = fmt.Errorf("%w: kind %q declared twice", ErrSchema, name)
		}
	}
	s.kinds = append(s.kinds, k)
	return k
}

// Kinds returns the declared kinds in order (kind number i+1 at index i).
// Callers must not modify it.
func (s *Schema) Kinds() []*Kind { return s.kinds }

// KindByID returns the kind with the given wire number, or nil.
func (s *Schema) KindByID(id uint32) *Kind {
	if id < 1 || int(id) > len(s.kinds) {
		return nil
	}
	return s.kinds[id-1]
}

// Validate reports the first error in the schema's declarations, naming the
// kind and field; it wraps [ErrSchema].
func (s *Schema) Validate() error {
	if s == nil {
		return fmt.Errorf("%w: the game declares no schema", ErrSchema)
	}
	if s.err != nil {
		return s.err
	}
	for _, k := range s.kinds {
		if k.err != nil {
			return k.err
		}
	}
	for _, f := range []*Fields{&s.Player, &s.Room, &s.Input} {
		if f.err != nil {
			return f.err
		}
	}
	return nil
}

func validName(s string) bool {
	if len(s) < 1 || len(s) > maxNameLen || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}
