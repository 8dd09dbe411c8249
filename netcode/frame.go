package netcode

import (
	"bytes"
	"encoding/binary"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/flate"
)

// WebSocket opcodes and header bits the server writes.
const (
	opBinary = 0x2
	opClose  = 0x8
	opPing   = 0x9
	opPong   = 0xa
	finBit   = 0x80
	rsv1Bit  = 0x40 // permessage-deflate: the payload is compressed
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
	f.raw = appendHeader(f.raw[:0], opBinary, false, len(payload))
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
	f.raw = appendHeader(f.raw[:0], op, false, len(payload))
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
	c := getCompressor(level)
	defer putCompressor(c)
	c.buf.Reset()
	c.w.Reset(&c.buf)
	_, _ = c.w.Write(f.payload)
	_ = c.w.Flush()
	out := c.buf.Bytes()
	out = out[:len(out)-4] // drop the 00 00 ff ff sync-flush tail (RFC 7692 7.2.1)
	if len(out) >= len(f.payload) {
		return
	}
	f.deflated = appendHeader(f.deflated[:0], opBinary, true, len(out))
	f.deflated = append(f.deflated, out...)
}

// minDeflate is the payload size below which deflate cannot win.
const minDeflate = 16

// appendHeader appends a server (unmasked) frame header with FIN set.
func appendHeader(b []byte, op byte, compressed bool, n int) []byte {
	b0 := finBit | op
	if compressed {
		b0 |= rsv1Bit
	}
	switch {
	case n < 126:
		return append(b, b0, byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, b0, 126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, b0, 127), uint64(n))
	}
}

type compressor struct {
	level int
	w     *flate.Writer
	buf   bytes.Buffer
}

// compressors are shared by every room: a room compresses once per tick, so only
// about as many are in use at once as there are cores.
var compressors sync.Pool

func getCompressor(level int) *compressor {
	if c, ok := compressors.Get().(*compressor); ok && c.level == level {
		return c
	}
	w, err := flate.NewWriter(nil, level)
	if err != nil { // level was validated in Config; fall back rather than fail a tick
		w, _ = flate.NewWriter(nil, flate.BestSpeed)
	}
	return &compressor{level: level, w: w}
}

func putCompressor(c *compressor) { compressors.Put(c) }

// closePayload is a close frame's body: the code, big-endian, then the reason,
// cut so the control frame stays within 125 bytes.
func closePayload(code uint16, reason string) []byte {
	if len(reason) > 123 {
		reason = reason[:123]
	}
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}
