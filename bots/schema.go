package bots

import (
	"fmt"
	"hash/maphash"

	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// maxBits is the most mask bits one record may use (PROTOCOL.md, "Schema").
const maxBits = 64

// Field is one declared field of a record, as the Welcome's schema describes
// it. A record's values are indexed by mask bit: the field's components are
// at Bit, Bit+1, ... (one for most types, two for a 2D position, three for a
// 3D one).
type Field struct {
	Name string
	Type tickwirev1.FieldType
	// Scale is the steps per unit of a fixed-point field or a position.
	Scale uint32
	// Bits is an angle's size.
	Bits uint32
	// Values names an enum's values.
	Values []string
	// Bit is the mask bit (and the index into a record's Values or Texts) of
	// the field's first component.
	Bit int
}

// Shape is the fields of one record: an entity kind, the player record, the
// room record or the input.
type Shape struct {
	// Name is the kind's name, or "player", "room" or "input".
	Name   string
	Fields []Field
	// Bits is the number of mask bits (components) the record uses.
	Bits int
	// HasText is set when a field is a text: records keep Texts then.
	HasText bool
	text    uint64 // bits of text fields
	signed  uint64 // bits of INT, FIXED and position components
}

// Field returns the field with the given name.
func (s *Shape) Field(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

func (s *Shape) all() uint64 {
	if s.Bits == maxBits {
		return ^uint64(0)
	}
	return 1<<s.Bits - 1
}

func (s *Shape) isText(bit int) bool { return s.text&(1<<bit) != 0 }

// Schema is a room's declared state, from its Welcome: every snapshot and
// delta of the room is decoded by it.
type Schema struct {
	// Kinds are the entity kinds; kind number k is Kinds[k-1].
	Kinds  []Shape
	Player Shape
	Room   Shape
	Input  Shape

	// fingerprint identifies the wire schema it was made from (never 0), so
	// that mirrors of the process decoding by equal schemas can share
	// verified frames (see verifiedFrom); 0 for a Schema built by hand,
	// which shares nothing.
	fingerprint uint64
}

var schemaSeed = maphash.MakeSeed()

// NewSchema checks and converts a Welcome's schema. A nil schema is an
// error: every server sends one.
func NewSchema(s *tickwirev1.Schema) (*Schema, error) {
	if s == nil {
		return nil, fmt.Errorf("welcome has no schema: %w", ErrMalformed)
	}
	out := &Schema{}
	var err error
	for _, k := range s.GetKinds() {
		sh, e := newShape(k.GetName(), k.GetFields())
		if e != nil {
			return nil, e
		}
		out.Kinds = append(out.Kinds, sh)
	}
	if out.Player, err = newShape("player", s.GetPlayerFields()); err != nil {
		return nil, err
	}
	if out.Room, err = newShape("room", s.GetRoomFields()); err != nil {
		return nil, err
	}
	if out.Input, err = newShape("input", s.GetInputFields()); err != nil {
		return nil, err
	}
	if b, err := (proto.MarshalOptions{Deterministic: true}).Marshal(s); err == nil {
		out.fingerprint = maphash.Bytes(schemaSeed, b) | 1
	}
	return out, nil
}

func newShape(name string, fields []*tickwirev1.FieldSpec) (Shape, error) {
	sh := Shape{Name: name}
	for _, f := range fields {
		n := 1
		switch f.GetType() {
		case tickwirev1.FieldType_FIELD_TYPE_POS2:
			n = 2
		case tickwirev1.FieldType_FIELD_TYPE_POS3:
			n = 3
		case tickwirev1.FieldType_FIELD_TYPE_INT, tickwirev1.FieldType_FIELD_TYPE_FIXED,
			tickwirev1.FieldType_FIELD_TYPE_ANGLE, tickwirev1.FieldType_FIELD_TYPE_BOOL,
			tickwirev1.FieldType_FIELD_TYPE_ENUM, tickwirev1.FieldType_FIELD_TYPE_TEXT:
		default:
			return Shape{}, fmt.Errorf("schema %s: field %q has unknown type %v: %w", name, f.GetName(), f.GetType(), ErrMalformed)
		}
		if sh.Bits+n > maxBits {
			return Shape{}, fmt.Errorf("schema %s: field %q past mask bit %d: %w", name, f.GetName(), maxBits-1, ErrMalformed)
		}
		for c := range n {
			bit := uint64(1) << (sh.Bits + c)
			switch f.GetType() {
			case tickwirev1.FieldType_FIELD_TYPE_TEXT:
				sh.text |= bit
				sh.HasText = true
			case tickwirev1.FieldType_FIELD_TYPE_INT, tickwirev1.FieldType_FIELD_TYPE_FIXED,
				tickwirev1.FieldType_FIELD_TYPE_POS2, tickwirev1.FieldType_FIELD_TYPE_POS3:
				sh.signed |= bit
			}
		}
		sh.Fields = append(sh.Fields, Field{
			Name: f.GetName(), Type: f.GetType(), Scale: f.GetScale(), Bits: f.GetBits(),
			Values: f.GetValues(), Bit: sh.Bits,
		})
		sh.Bits += n
	}
	return sh, nil
}

// Kind returns the kind with the given name and its number.
func (s *Schema) Kind(name string) (*Shape, uint32, bool) {
	for i := range s.Kinds {
		if s.Kinds[i].Name == name {
			return &s.Kinds[i], uint32(i + 1), true
		}
	}
	return nil, 0, false
}

func (s *Schema) kind(k uint32) *Shape {
	if k < 1 || int(k) > len(s.Kinds) {
		return nil
	}
	return &s.Kinds[k-1]
}

// full decodes a full value of bit b.
func (s *Shape) full(b int, w uint64) int64 {
	if s.signed&(1<<b) != 0 {
		return unzigzag(w)
	}
	return int64(w)
}

// apply applies an update value of bit b to v.
func (s *Shape) apply(b int, v *int64, w uint64) {
	if s.signed&(1<<b) != 0 {
		*v += unzigzag(w)
		return
	}
	*v = int64(w)
}

// encodeInput appends an input's values in bit order, coded for the wire.
func (s *Shape) encodeInput(dst []uint64, in *Input) []uint64 {
	for b := range s.Bits {
		v := in.Values[b]
		if s.signed&(1<<b) != 0 {
			dst = append(dst, uint64(v<<1)^uint64(v>>63))
		} else {
			dst = append(dst, uint64(v))
		}
	}
	return dst
}

func unzigzag(w uint64) int64 { return int64(w>>1) ^ -int64(w&1) }
