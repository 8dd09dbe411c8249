package netcode

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tickwire/tickwire/game"
)

// Field numbers of ClientFrame.input and of Input's fields, from tickwire.proto.
const (
	clientFrameInput = 2
	inputSeq         = 1
	inputValues      = 5
)

// decodeInput reads a ClientFrame that holds only an Input, by the room's
// input shape and without allocating: inputs are most of what clients send.
// Values may come packed or one by one, as protobuf allows. It reports false
// for anything else (another body, unknown fields, more values than the
// schema declares, a value out of its field's range, malformed bytes), which
// then goes through proto.Unmarshal and its error reporting. Hot path: every
// client input.
func decodeInput(b []byte, s *shape) (game.Input, bool) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || num != clientFrameInput || typ != protowire.BytesType {
		return game.Input{}, false
	}
	body, m := protowire.ConsumeBytes(b[n:])
	if m < 0 || n+m != len(b) {
		return game.Input{}, false
	}
	var in game.Input
	next := 0 // index of the next value
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 {
			return game.Input{}, false
		}
		body = body[n:]
		switch {
		case num == inputSeq && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(body)
			if m < 0 {
				return game.Input{}, false
			}
			in.Seq, body = uint32(v), body[m:]
		case num == inputValues && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(body)
			if m < 0 || !setInput(&in, s, next, v) {
				return game.Input{}, false
			}
			next, body = next+1, body[m:]
		case num == inputValues && typ == protowire.BytesType:
			packed, m := protowire.ConsumeBytes(body)
			if m < 0 {
				return game.Input{}, false
			}
			body = body[m:]
			for len(packed) > 0 {
				v, k := protowire.ConsumeVarint(packed)
				if k < 0 || !setInput(&in, s, next, v) {
					return game.Input{}, false
				}
				next, packed = next+1, packed[k:]
			}
		default:
			return game.Input{}, false
		}
	}
	return in, true
}

func setInput(in *game.Input, s *shape, i int, w uint64) bool {
	slot, v, ok := s.inputValue(i, w)
	if ok {
		in.Slot[slot] = v
	}
	return ok
}
