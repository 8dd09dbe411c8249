package netcode

import (
	"sync"
	"sync/atomic"

	"github.com/tickwire/tickwire/internal/wsframe"
)

// WebSocket opcodes the server writes.
const (
	opBinary = wsframe.OpBinary
	opClose  = wsframe.OpClose
	opPing   = wsframe.OpPing
	opPong   = wsframe.OpPong
)

// frame is one encoded server message, ready to write: a WebSocket frame in raw
// form and, when a deflate client needs it, in compressed form. A frame is built
// once and shared by every session it is queued on; refs counts the holders and
// the last release returns it to the pool.
type frame struct {
	raw      []byte // header + payload
	deflated []byte // header + compressed payload; nil until compress
	payload  []byte // the protobuf message, kept to compress lazily
	tick     uint64 // the state tick this frame brings a client to; 0 for none
	control  bool   // close or ping: not counted as a state frame
	closing  bool   // a close frame: the session ends after it is written
	pong     bool   // a pong: dropped rather than queued when the queue is full
	refs     atomic.Int32
}

var framePool = sync.Pool{New: func() any { return new(frame) }}

// newFrame returns a frame holding one reference, with payload copied in.
func newFrame(payload []byte, tick uint64) *frame {
	f := framePool.Get().(*frame)
	f.payload = append(f.payload[:0], payload...)
	f.raw = wsframe.AppendHeader(f.raw[:0], wsframe.Header{Fin: true, Op: opBinary, Length: uint64(len(payload))})
	f.raw = append(f.raw, payload...)
	f.deflated = f.deflated[:0]
	f.tick = tick
	f.control, f.closing, f.pong = false, false, false
	f.refs.Store(1)
	return f
}

// newControlFrame returns a ping or close frame holding one reference.
func newControlFrame(op byte, payload []byte) *frame {
	f := framePool.Get().(*frame)
	f.payload = f.payload[:0]
	f.raw = wsframe.AppendHeader(f.raw[:0], wsframe.Header{Fin: true, Op: op, Length: uint64(len(payload))})
	f.raw = append(f.raw, payload...)
	f.deflated = f.deflated[:0]
	f.tick = 0
	f.control, f.closing, f.pong = true, op == opClose, op == opPong
	f.refs.Store(1)
	return f
}

func (f *frame) retain() { f.refs.Add(1) }

func (f *frame) release() {
	if f.refs.Add(-1) == 0 {
		framePool.Put(f)
	}
}

// bytesFor is what to write to a session that did (or did not) negotiate
// permessage-deflate. Call compress first for deflate sessions.
func (f *frame) bytesFor(deflate bool) []byte {
	if deflate && len(f.deflated) > 0 {
		return f.deflated
	}
	return f.raw
}

// compress builds the deflated form once. It runs on the goroutine that built the
// frame, before the frame is shared. Payloads that deflate would not shrink are
// sent raw (RSV1 clear), which permessage-deflate allows per message.
func (f *frame) compress(level int) {
	if f.control || len(f.deflated) > 0 || len(f.payload) < minDeflate {
		return
	}
	// Deflate after room for the longest header, then move the payload up
	// to the header's real length.
	const room = 10
	b := wsframe.Deflate(append(f.deflated[:0], make([]byte, room)...), f.payload, level)
	n := len(b) - room
	if n >= len(f.payload) {
		f.deflated = f.deflated[:0]
		return
	}
	h := wsframe.AppendHeader(b[:0], wsframe.Header{Fin: true, RSV: wsframe.RSV1Bit, Op: opBinary, Length: uint64(n)})
	copy(b[len(h):], b[room:])
	f.deflated = b[:len(h)+n]
}

// minDeflate is the payload size below which deflate cannot win.
const minDeflate = 16

// closePayload is a close frame's body: the code, then the reason, cut to
// fit a control frame.
func closePayload(code uint16, reason string) []byte { return wsframe.AppendClose(nil, code, reason) }
