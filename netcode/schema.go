package netcode

import (
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tickwire/tickwire/game"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// component is how one mask bit of a record is stored and sent.
type component struct {
	slot   int  // index into the record's numbers, or its texts when text
	text   bool // a TEXT field: sent in the texts list
	signed bool // INT, FIXED, positions: zigzag-coded, updates send the change
	// limit bounds an unsigned value (enum values, 2 for a bool, 2^bits for
	// an angle); 0 means none. Only inputs are checked against it.
	limit uint64
	field string // the field's name, for errors
}

// shape is the wire coding of one record shape (an entity kind, the player
// record, the room record or the input), derived once from the schema.
type shape struct {
	bits []component // by mask bit
	all  uint64      // every bit set
	// nums and texts are bits split by kind, for the encoder's hot loop.
	nums  []numeric
	texts []textual
}

// numeric is one numeric mask bit of a shape.
type numeric struct {
	mask   uint64 // 1 << bit
	slot   int32
	bit    uint8
	signed bool
}

// textual is one text mask bit of a shape.
type textual struct {
	slot int32
	bit  uint8
}

func newShape(f *game.Fields) shape {
	var s shape
	for _, fd := range f.List() {
		for c := range fd.Type.Components() {
			comp := component{slot: fd.Slot + c, field: fd.Name}
			switch fd.Type {
			case game.TypeText:
				comp.text = true
			case game.TypeInt, game.TypeFixed, game.TypePos2, game.TypePos3:
				comp.signed = true
			case game.TypeBool:
				comp.limit = 2
			case game.TypeEnum:
				comp.limit = uint64(len(fd.Values))
			case game.TypeAngle:
				comp.limit = 1 << fd.Bits
			}
			s.bits = append(s.bits, comp)
		}
	}
	for i, c := range s.bits {
		// game gives numbers their slots in bit order, texts apart: the
		// encoder relies on nums[k] being slot k.
		if c.text {
			s.texts = append(s.texts, textual{slot: int32(c.slot), bit: uint8(i)})
		} else {
			s.nums = append(s.nums, numeric{mask: 1 << i, slot: int32(c.slot), bit: uint8(i), signed: c.signed})
		}
	}
	if n := len(s.bits); n > 0 {
		s.all = 1<<n - 1
		if n == 64 {
			s.all = ^uint64(0)
		}
	}
	return s
}

// codec is a room's schema as the encoder, the input decoder and the Welcome
// use it. It is read-only once built, so every goroutine may share it.
type codec struct {
	kinds  []shape // kind number k at k-1
	player shape
	room   shape
	input  shape
	wire   *pb.Schema // for the Welcome
}

func newCodec(s *game.Schema) *codec {
	c := &codec{
		player: newShape(&s.Player),
		room:   newShape(&s.Room),
		input:  newShape(&s.Input),
		wire: &pb.Schema{
			PlayerFields: fieldSpecs(&s.Player),
			RoomFields:   fieldSpecs(&s.Room),
			InputFields:  fieldSpecs(&s.Input),
		},
	}
	for _, k := range s.Kinds() {
		c.kinds = append(c.kinds, newShape(&k.Fields))
		c.wire.Kinds = append(c.wire.Kinds, &pb.EntityKind{Name: k.Name(), Fields: fieldSpecs(&k.Fields)})
	}
	return c
}

func fieldSpecs(f *game.Fields) []*pb.FieldSpec {
	var out []*pb.FieldSpec
	for _, fd := range f.List() {
		out = append(out, &pb.FieldSpec{
			Name:   fd.Name,
			Type:   pb.FieldType(fd.Type), // game's types are numbered as the wire's
			Scale:  uint32(fd.Scale),
			Bits:   uint32(fd.Bits),
			Values: fd.Values,
		})
	}
	return out
}

// full is how a value travels in a snapshot, a created entity or a joined
// player: zigzag-coded when signed.
func (c *component) full(v int64) uint64 {
	if c.signed {
		return protowire.EncodeZigZag(v)
	}
	return uint64(v)
}

// change is how a changed value travels in an update: signed values as the
// zigzag-coded difference (modulo 2^64), the others as the new value.
func (c *component) change(base, cur int64) uint64 {
	if c.signed {
		return protowire.EncodeZigZag(cur - base)
	}
	return uint64(cur)
}

// appendRecord appends one whole record's values and texts in bit order.
func (s *shape) appendRecord(vals []uint64, texts []string, v []int64, t []string) ([]uint64, []string) {
	for i := range s.bits {
		c := &s.bits[i]
		if c.text {
			texts = append(texts, t[c.slot])
		} else {
			vals = append(vals, c.full(v[c.slot]))
		}
	}
	return vals, texts
}

// appendChanges appends the changed values of one record in bit order and
// returns their mask.
func (s *shape) appendChanges(vals []uint64, texts []string, bv, cv []int64, bt, ct []string) ([]uint64, []string, uint64) {
	var m uint64
	for i := range s.bits {
		c := &s.bits[i]
		if c.text {
			if bt[c.slot] != ct[c.slot] {
				m |= 1 << i
				texts = append(texts, ct[c.slot])
			}
		} else if bv[c.slot] != cv[c.slot] {
			m |= 1 << i
			vals = append(vals, c.change(bv[c.slot], cv[c.slot]))
		}
	}
	return vals, texts, m
}

// inputValue checks and decodes input value i from the wire.
func (s *shape) inputValue(i int, w uint64) (slot int, v int64, ok bool) {
	if i >= len(s.bits) {
		return 0, 0, false
	}
	c := &s.bits[i]
	if c.signed {
		return c.slot, protowire.DecodeZigZag(w), true
	}
	if c.limit > 0 && w >= c.limit {
		return 0, 0, false
	}
	return c.slot, int64(w), true
}

// inputFromWire converts a decoded Input, saying which value is out of range.
func (s *shape) inputFromWire(in *pb.Input) (game.Input, error) {
	out := game.Input{Seq: in.GetSeq()}
	vals := in.GetValues()
	if len(vals) > len(s.bits) {
		return game.Input{}, fmt.Errorf("input has %d values; the schema declares %d", len(vals), len(s.bits))
	}
	for i, w := range vals {
		slot, v, ok := s.inputValue(i, w)
		if !ok {
			return game.Input{}, fmt.Errorf("input field %s: value %d out of range [0, %d)", s.bits[i].field, w, s.bits[i].limit)
		}
		out.Slot[slot] = v
	}
	return out, nil
}
