package bots

import (
	"errors"
	"fmt"
	"io"
	"sync"
	"syscall"

	"github.com/tickwire/tickwire/internal/wsframe"
)

// A bot reads its socket itself once the handshake is done, not through
// gws's read loop: the bots of a process spend most of their time receiving
// small frames, and a read loop of their own parses every frame in place in
// one pooled buffer, reads as many frames as the socket holds in one system
// call, skips the read that would find the socket empty before waiting, and
// hands the Client each message without a copy or a lock of its own. Every
// bot still reads its own bytes from its own socket, and every message is
// compared with the verified cached frame byte for byte or decoded and
// verified (see frameCache).

// readBufferSize is a wsReader's pooled buffer: room for many arena frames,
// which are a few hundred bytes, so that a burst is read in one system call;
// a larger frame grows it.
const readBufferSize = 4096

var readBuffers = sync.Pool{New: func() any { b := make([]byte, readBufferSize); return &b }}

// frameSink receives what a wsReader reads: the Client, or a test.
type frameSink interface {
	// message is one whole data message (its fragments joined, inflated),
	// with its opcode. shared is its frame-cache entry, data then being
	// shared.inflated, or nil. data is valid only during the call.
	message(op byte, data []byte, shared *cachedFrame)
	// ping is a ping's payload, valid only during the call.
	ping(payload []byte)
}

// peerClose is what wsReader.run returns when the server sent a close frame.
type peerClose struct {
	code   uint16 // 0 for a close without a code
	reason string
	err    error // why the payload is invalid (wsframe.ParseClose), or nil
}

func (e *peerClose) Error() string {
	if e.err != nil {
		return fmt.Sprintf("websocket: closed by the server with an invalid close frame (code %d): %v", e.code, e.err)
	}
	return fmt.Sprintf("websocket: closed by the server: %d %s", e.code, e.reason)
}

// reply is the code to answer the close with (RFC 6455, section 5.5.1): the
// server's own, or 1002 or 1007 for an invalid one.
func (e *peerClose) reply() uint16 {
	switch {
	case errors.Is(e.err, wsframe.ErrCloseReason):
		return wsframe.CloseInvalidData
	case e.err != nil:
		return wsframe.CloseProtocolError
	case e.code == 0:
		return wsframe.CloseNormal
	}
	return e.code
}

// wsError is a server's frame the bot refuses, with the close code to say so.
type wsError struct {
	code uint16
	err  error
}

func (e *wsError) Error() string { return fmt.Sprintf("websocket: %v (close %d)", e.err, e.code) }
func (e *wsError) Unwrap() error { return e.err }

func protocolError(format string, args ...any) error {
	return &wsError{wsframe.CloseProtocolError, fmt.Errorf(format, args...)}
}

var errInflatedTooLarge = wsframe.ErrTooLarge

// wsReader is a bot's WebSocket read side over its own socket, after the
// handshake. It checks the framing a server may send (RFC 6455 and 7692:
// unmasked, fragments in order, control frames whole and short, RSV1 only
// with permessage-deflate), joins fragments, answers nothing itself (pings
// go to the sink) and stops at the server's close or the first error. Only
// the bot's read goroutine uses it.
type wsReader struct {
	// Where the bytes come from: raw, a plain TCP socket read by system
	// calls (see wsread_unix.go), or else src.
	raw   syscall.RawConn
	src   io.Reader
	count func(n int) // called with the bytes read from raw; nil for src
	sink  frameSink
	cache *frameCache // where compressed messages other bots inflated are found, or nil
	// deflate allows compressed (RSV1) messages: the server agreed to
	// permessage-deflate.
	deflate bool
	limit   int // the largest frame payload and message (inflated) accepted

	bufp *[]byte // pooled backing of buf
	buf  []byte  // read buffer, all of its capacity; nil while idle
	n    int     // bytes in buf not yet handled: a partial frame
	need int     // the length of that frame, header included, once known

	msg           *[]byte // payload of a fragmented message so far, or nil
	msgOp         byte
	msgCompressed bool
}

// preload queues bytes already read from the connection (with the
// handshake) to be handled first.
func (r *wsReader) preload(b []byte) {
	if len(b) == 0 {
		return
	}
	r.need = len(b)
	r.acquire()
	r.n = copy(r.buf, b)
	r.need = 0
}

// run reads and handles frames until the connection fails or the server
// closes it, and returns why: a *peerClose, a *wsError, or the read error.
func (r *wsReader) run() error {
	defer r.release()
	if r.n > 0 {
		if err := r.parse(); err != nil {
			return err
		}
	}
	if r.raw != nil {
		return r.runRaw()
	}
	for {
		if err := r.readOnce(); err != nil {
			return err
		}
	}
}

// readOnce reads from src once and handles the whole frames read.
func (r *wsReader) readOnce() error {
	r.acquire()
	n, err := r.src.Read(r.buf[r.n:])
	if n > 0 {
		r.n += n
		if perr := r.parse(); perr != nil {
			return perr
		}
	}
	return err
}

// acquire makes sure buf has room for the frame being read, and for some
// more.
func (r *wsReader) acquire() {
	if r.buf == nil {
		r.bufp = readBuffers.Get().(*[]byte)
		r.buf = (*r.bufp)[:cap(*r.bufp)]
	}
	if r.need <= len(r.buf) && r.n < len(r.buf) {
		return
	}
	b := make([]byte, max(r.need, 2*len(r.buf)))
	copy(b, r.buf[:r.n])
	r.dropBuffer()
	r.buf = b
}

// release gives buf back to the pool when it holds nothing, so an idle bot
// holds no read buffer.
func (r *wsReader) release() {
	if r.n == 0 && r.buf != nil {
		r.dropBuffer()
	}
}

func (r *wsReader) dropBuffer() {
	if r.bufp != nil && len(r.buf) == cap(*r.bufp) {
		readBuffers.Put(r.bufp)
	}
	r.bufp, r.buf = nil, nil
}

// parse handles every whole frame in buf[:n] and moves what is left, the
// start of the next frame, to the front.
//
// Hot path: every bot, every read; it allocates nothing for an unfragmented
// message that is in the frame cache, or is not compressed.
func (r *wsReader) parse() error {
	b := r.buf[:r.n]
	off := 0
	r.need = 0
	for off < len(b) {
		h, hlen, err := wsframe.ParseHeader(b[off:])
		if errors.Is(err, wsframe.ErrShort) {
			break
		}
		if err != nil {
			return protocolError("%v", err)
		}
		if err := r.check(h); err != nil {
			return err
		}
		end := off + hlen + int(h.Length) // h.Length <= limit: checked
		if end > len(b) {
			r.need = hlen + int(h.Length)
			break
		}
		if err := r.frame(h, b[off+hlen:end]); err != nil {
			return err
		}
		off = end
	}
	r.n = copy(r.buf, b[off:])
	return nil
}

// check refuses a frame header a server may not send.
func (r *wsReader) check(h wsframe.Header) error {
	switch {
	case h.Masked:
		return protocolError("a masked frame from the server")
	case h.RSV&^wsframe.RSV1Bit != 0:
		return protocolError("RSV2 or RSV3 set")
	case h.Compressed() && (!r.deflate || h.Control() || h.Op == wsframe.OpContinuation):
		return protocolError("RSV1 set on a frame that cannot be compressed (opcode %d)", h.Op)
	case h.Length > uint64(r.limit):
		return &wsError{wsframe.CloseTooLarge, fmt.Errorf("a frame of %d bytes: %w of %d", h.Length, errInflatedTooLarge, r.limit)}
	}
	if h.Control() {
		switch {
		case h.Op != wsframe.OpClose && h.Op != wsframe.OpPing && h.Op != wsframe.OpPong:
			return protocolError("reserved opcode %#x", h.Op)
		case !h.Fin || h.Length > wsframe.MaxControlPayload:
			return protocolError("a fragmented or long control frame")
		}
		return nil
	}
	switch {
	case h.Op != wsframe.OpContinuation && h.Op != wsframe.OpText && h.Op != wsframe.OpBinary:
		return protocolError("reserved opcode %#x", h.Op)
	case h.Op == wsframe.OpContinuation && r.msg == nil:
		return protocolError("a continuation frame outside a fragmented message")
	case h.Op != wsframe.OpContinuation && r.msg != nil:
		return protocolError("a new message began inside a fragmented one")
	}
	return nil
}

// frame handles one whole frame, already checked.
func (r *wsReader) frame(h wsframe.Header, payload []byte) error {
	switch {
	case h.Op == wsframe.OpPing:
		r.sink.ping(payload)
	case h.Op == wsframe.OpClose:
		code, reason, err := wsframe.ParseClose(payload)
		return &peerClose{code: code, reason: string(reason), err: err}
	case h.Control(): // a pong: the bots send no pings of their own
	case h.Op == wsframe.OpContinuation:
		if len(*r.msg)+len(payload) > r.limit {
			return &wsError{wsframe.CloseTooLarge, fmt.Errorf("a fragmented message %w of %d bytes", errInflatedTooLarge, r.limit)}
		}
		*r.msg = append(*r.msg, payload...)
		if !h.Fin {
			return nil
		}
		msg := r.msg
		r.msg = nil
		defer putBuffer(msg)
		return r.deliver(r.msgOp, r.msgCompressed, *msg)
	case !h.Fin:
		r.msg, r.msgOp, r.msgCompressed = getBuffer(), h.Op, h.Compressed()
		*r.msg = append(*r.msg, payload...)
	default:
		return r.deliver(h.Op, h.Compressed(), payload)
	}
	return nil
}

// deliver hands the sink one message: payload as it is, or inflated, from
// the frame cache when another bot already received the same bytes.
//
// Hot path: once per message per bot.
func (r *wsReader) deliver(op byte, compressed bool, payload []byte) error {
	if !compressed {
		r.sink.message(op, payload, nil)
		return nil
	}
	var hash uint64
	if r.cache != nil {
		var e *cachedFrame
		if e, hash = r.cache.lookup(payload); e != nil {
			if len(e.inflated) > r.limit {
				return &wsError{wsframe.CloseTooLarge, fmt.Errorf("inflate: %w of %d bytes", errInflatedTooLarge, r.limit)}
			}
			r.sink.message(op, e.inflated, e)
			return nil
		}
	}
	out := getBuffer()
	defer putBuffer(out)
	inflated, err := wsframe.Inflate((*out)[:0], payload, r.limit)
	if errors.Is(err, wsframe.ErrTooLarge) {
		return &wsError{wsframe.CloseTooLarge, fmt.Errorf("inflate: %w", err)}
	} else if err != nil {
		return &wsError{wsframe.CloseInvalidData, fmt.Errorf("inflate: %w", err)}
	}
	*out = inflated
	if r.cache != nil {
		if e := r.cache.add(hash, payload, inflated); e != nil {
			r.sink.message(op, e.inflated, e)
			return nil
		}
	}
	r.sink.message(op, inflated, nil)
	return nil
}
