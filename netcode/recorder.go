package netcode

import (
	"fmt"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/internal/wsframe"
)

// A FrameRecorder encodes a game's ticks exactly as a room does, outside a
// server, so that a game developer can measure what their state costs on
// the wire and to encode (game/gametest's Bench uses it): Record copies a
// tick's state the way the room captures it after each step, and Delta
// encodes the frame every in-sync client of the room gets for a recorded
// tick. It keeps every state recorded; not safe for concurrent use.
type FrameRecorder struct {
	codec  *codec
	enc    *encoder
	states []*roomState
	zbuf   []byte
}

// NewFrameRecorder returns a recorder for a game with schema s. It fails
// when s does not validate.
func NewFrameRecorder(s *game.Schema) (*FrameRecorder, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	c := newCodec(s)
	return &FrameRecorder{codec: c, enc: newEncoder(c)}, nil
}

// Record copies the sim's state at its current tick.
func (r *FrameRecorder) Record(sim *game.Sim) {
	st := new(roomState)
	st.capture(sim)
	r.states = append(r.states, st)
}

// Ticks is the number of states recorded.
func (r *FrameRecorder) Ticks() int { return len(r.states) }

// Delta encodes the delta frame from recorded state i-1 to state i (1 ≤ i <
// Ticks), the ServerFrame a room sends every client in sync: the encoder's
// hot path, allocation-free once warm. The bytes are valid until the next
// call.
func (r *FrameRecorder) Delta(i int) []byte {
	if i < 1 || i >= len(r.states) {
		panic(fmt.Sprintf("netcode: FrameRecorder.Delta(%d) of %d recorded states", i, len(r.states)))
	}
	return r.enc.encodeDelta(r.states[i-1], r.states[i])
}

// Deflate compresses a frame the way a room does for its permessage-deflate
// clients, once per tick, at level (Config.DeflateLevel: 1, flate.BestSpeed, by default),
// and returns what such a client gets: the compressed payload, or payload
// itself when deflate would not shrink it (the room then sends it plain).
// The bytes are valid until the next call.
func (r *FrameRecorder) Deflate(payload []byte, level int) []byte {
	if len(payload) < minDeflate {
		return payload
	}
	r.zbuf = wsframe.Deflate(r.zbuf[:0], payload, level)
	if len(r.zbuf) >= len(payload) {
		return payload
	}
	return r.zbuf
}
