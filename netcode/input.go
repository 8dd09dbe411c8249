package netcode

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tickwire/tickwire/game"
)

// Field numbers of ClientFrame.input and of Input's fields, from tickwire.proto.
const (
	clientFrameInput = 2
	inputSeq         = 1
	inputDX          = 2
	inputDY          = 3
	inputButtons     = 4
)

// decodeInput reads a ClientFrame that holds only an Input, without allocating:
// inputs are most of what clients send. It reports false for anything else
// (another body, unknown fields, malformed bytes), which then goes through
// proto.Unmarshal and its error reporting. Hot path: every client input.
func decodeInput(b []byte) (game.Input, bool) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 || num != clientFrameInput || typ != protowire.BytesType {
		return game.Input{}, false
	}
	body, m := protowire.ConsumeBytes(b[n:])
	if m < 0 || n+m != len(b) {
		return game.Input{}, false
	}
	var in game.Input
	for len(body) > 0 {
		num, typ, n := protowire.ConsumeTag(body)
		if n < 0 || typ != protowire.VarintType {
			return game.Input{}, false
		}
		v, m := protowire.ConsumeVarint(body[n:])
		if m < 0 {
			return game.Input{}, false
		}
		body = body[n+m:]
		switch num {
		case inputSeq:
			in.Seq = uint32(v)
		case inputDX:
			in.DX = int32(protowire.DecodeZigZag(v & 0xffffffff))
		case inputDY:
			in.DY = int32(protowire.DecodeZigZag(v & 0xffffffff))
		case inputButtons:
			in.Buttons = uint32(v)
		default:
			return game.Input{}, false
		}
	}
	return in, true
}
