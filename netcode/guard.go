package netcode

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"sync"

	"github.com/tickwire/tickwire/internal/wsframe"
)

// guardConn is the connection gws reads a client through. It parses every
// client frame header as the bytes flow and enforces the rules of RFC 6455
// and RFC 7692 that gws does not, or that gws would answer itself:
//
//   - reserved bits: RSV2 and RSV3 always, RSV1 unless deflate was
//     negotiated, and RSV1 on control and continuation frames; reserved
//     opcodes; unmasked, fragmented or oversized control frames; a
//     continuation without a message, a message inside another: 1002;
//   - a close frame with a code a client may not send (1002) or a reason
//     that is not UTF-8 (1007);
//   - a message over the hard limit, compressed or once inflated (1009), or
//     a corrupt deflate stream (1007).
//
// It inflates each compressed message (permessage-deflate without context
// takeover) and reassembles fragmented ones, so gws sees whole plain frames
// only; each fragment but the last is charged to the connection's rate
// limit, so a flood of empty continuation frames is limited like any other.
// A frame that passes is handed to gws as it came (or rebuilt, masked with a
// zero key).
//
// The guard writes nothing. On a violation it hands its verdict, a close
// code and a reason, to hooks.refuse, and the session sends the close; from
// then on it passes only the client's close frame on to gws and drops
// everything else, until the connection ends. Only gws's read loop calls
// Read, so the guard's state is the read goroutine's.
type guardConn struct {
	net.Conn // the client's socket: writes and deadlines go straight to it
	in       *bufio.Reader
	rules    guardRules
	hooks    guardHooks

	out  []byte  // bytes for gws not yet read: a header or a control frame
	body []byte  // then these: a rebuilt message's payload
	buf  *[]byte // pooled backing of body
	// plain is how many payload bytes of a frame passed through are left to
	// hand over; skip how many of a dropped frame are left to discard.
	plain, skip uint64
	ctl         [wsframe.MaxHeaderLen + wsframe.MaxControlPayload]byte
	closeBuf    [wsframe.MaxControlPayload]byte // an unmasked close payload

	// A fragmented or compressed message being collected.
	msg        *[]byte // its payload so far, unmasked
	msgOp      byte
	inMsg      bool
	compressed bool
	dropped    bool // a fragment went over the rate: the message is dropped

	refused    bool // a verdict was given
	peerClosed bool // the client's close frame went by
}

// guardRules are what a guard enforces for one connection.
type guardRules struct {
	deflate   bool // permessage-deflate was negotiated
	hardLimit int  // the largest message read at all, compressed or inflated
}

// guardHooks are how a guard reaches its session. Both run on the read
// goroutine.
type guardHooks struct {
	// charge charges one fragment to the rate limit (it may pause the read);
	// false: drop the message it belongs to.
	charge func() bool
	// refuse is the verdict: the session closes with code and reason.
	refuse func(code uint16, reason string)
}

// guardReadBuffer is the guard's read buffer on the socket: client frames
// are small, and a control frame (at most 139 bytes) must fit.
const guardReadBuffer = 512

func newGuardConn(conn net.Conn, src io.Reader, rules guardRules) *guardConn {
	return &guardConn{
		Conn:  conn,
		in:    bufio.NewReaderSize(src, guardReadBuffer),
		rules: rules,
		hooks: guardHooks{charge: func() bool { return true }, refuse: func(uint16, string) {}},
	}
}

// bind connects the guard to its session, before the read loop starts.
func (g *guardConn) bind(h guardHooks) { g.hooks = h }

// errRefused ends a read loop after a verdict once the client's close went by.
var errRefused = errors.New("connection refused by the frame guard")

func (g *guardConn) Read(p []byte) (int, error) {
	for {
		switch {
		case len(g.out) > 0:
			n := copy(p, g.out)
			g.out = g.out[n:]
			return n, nil
		case len(g.body) > 0:
			n := copy(p, g.body)
			g.body = g.body[n:]
			if len(g.body) == 0 {
				putGuardBuffer(g.buf)
				g.buf = nil
			}
			return n, nil
		case g.plain > 0:
			n, err := g.in.Read(p[:min(uint64(len(p)), g.plain)])
			g.plain -= uint64(n)
			return n, err
		case g.skip > 0:
			n, err := g.in.Discard(int(min(g.skip, 1<<20)))
			g.skip -= uint64(n)
			if err != nil {
				return 0, err
			}
			continue
		case g.refused && g.peerClosed:
			return 0, errRefused
		}
		if err := g.next(); err != nil {
			return 0, err
		}
	}
}

// next reads the next frame header and decides what to hand gws. Hot path:
// every client frame; a plain frame passes through without allocating
// (BenchmarkGuard).
func (g *guardConn) next() error {
	h, hlen, err := wsframe.PeekHeader(g.in)
	switch {
	case errors.Is(err, wsframe.ErrLength):
		// The stream cannot be followed past this: drop all of it.
		if !g.refused {
			g.refuse(wsframe.CloseProtocolError, "frame length has its top bit set")
		}
		g.skip = math.MaxUint64
		return nil
	case err != nil:
		return err
	}
	if g.refused { // pass the client's close on, so gws ends the read loop
		if code, _ := g.check(h); code == 0 && h.Op == wsframe.OpClose {
			g.peerClosed = true
			return g.passThrough(hlen, h)
		}
		g.skip = h.Length
		_, err = g.in.Discard(hlen)
		return err
	}
	if code, why := g.check(h); code != 0 {
		g.refuse(code, why)
		g.skip = h.Length // the frame itself goes nowhere
		_, err = g.in.Discard(hlen)
		return err
	}
	switch {
	case h.Op == wsframe.OpClose:
		return g.closeFrame(hlen, h)
	case h.Control():
		return g.passThrough(hlen, h)
	case h.Fin && h.Op != wsframe.OpContinuation && !h.Compressed():
		return g.passThrough(hlen, h) // the usual frame: one plain message
	}
	return g.collect(hlen, h)
}

// check applies the frame rules to h before its payload is read; it returns
// the close code and reason of a violation, or 0.
func (g *guardConn) check(h wsframe.Header) (uint16, string) {
	const protocol = wsframe.CloseProtocolError
	switch {
	case !h.Masked:
		return protocol, "client frames must be masked"
	case h.RSV&(wsframe.RSV2Bit|wsframe.RSV3Bit) != 0:
		return protocol, "RSV2 and RSV3 must be clear: no extension that uses them was negotiated"
	case h.Control():
		switch {
		case h.Op != wsframe.OpClose && h.Op != wsframe.OpPing && h.Op != wsframe.OpPong:
			return protocol, fmt.Sprintf("reserved opcode %#x", h.Op)
		case !h.Fin:
			return protocol, "control frames must not be fragmented"
		case h.Compressed():
			return protocol, "RSV1 must be clear on control frames"
		case h.Length > wsframe.MaxControlPayload:
			return protocol, "control frame payload over 125 bytes"
		}
		return 0, ""
	case h.Op > wsframe.OpBinary:
		return protocol, fmt.Sprintf("reserved opcode %#x", h.Op)
	case h.Op == wsframe.OpContinuation && !g.inMsg:
		return protocol, "continuation frame without a message to continue"
	case h.Op == wsframe.OpContinuation && h.Compressed():
		return protocol, "RSV1 must be clear on continuation frames"
	case h.Op != wsframe.OpContinuation && g.inMsg:
		return protocol, "a new message began inside a fragmented one"
	case h.Compressed() && !g.rules.deflate:
		return protocol, "RSV1 set but permessage-deflate was not negotiated"
	}
	size := h.Length
	if g.inMsg {
		size += uint64(len(*g.msg))
	}
	if size > uint64(g.rules.hardLimit) {
		return wsframe.CloseTooLarge, fmt.Sprintf("message over %d bytes", g.rules.hardLimit)
	}
	return 0, ""
}

// refuse gives the verdict: the session closes, and the guard drops what
// follows.
func (g *guardConn) refuse(code uint16, reason string) {
	g.refused = true
	g.release()
	g.hooks.refuse(code, reason)
}

// passThrough hands gws the frame as it came: its header now, its payload as
// gws reads it.
func (g *guardConn) passThrough(hlen int, h wsframe.Header) error {
	b, _ := g.in.Peek(hlen)
	g.out = g.ctl[:copy(g.ctl[:], b)]
	g.plain = h.Length
	_, err := g.in.Discard(hlen)
	return err
}

// closeFrame checks the client's close payload and passes the frame on.
func (g *guardConn) closeFrame(hlen int, h wsframe.Header) error {
	n := hlen + int(h.Length)
	b, err := g.in.Peek(n)
	if err != nil {
		return err
	}
	f := g.ctl[:copy(g.ctl[:], b)]
	payload := g.closeBuf[:copy(g.closeBuf[:], f[hlen:])]
	wsframe.Mask(payload, h.Key, 0)
	if _, err := g.in.Discard(n); err != nil {
		return err
	}
	g.peerClosed = true
	switch _, _, err := wsframe.ParseClose(payload); {
	case errors.Is(err, wsframe.ErrCloseReason):
		g.refuse(wsframe.CloseInvalidData, "close reason is not UTF-8")
		return nil
	case err != nil:
		g.refuse(wsframe.CloseProtocolError, err.Error())
		return nil
	}
	g.out = f
	return nil
}

// collect reads a frame of a fragmented or compressed message; at the
// message's end it hands gws the whole, plain message as one frame.
func (g *guardConn) collect(hlen int, h wsframe.Header) error {
	if _, err := g.in.Discard(hlen); err != nil {
		return err
	}
	if !g.inMsg {
		g.inMsg, g.msgOp, g.compressed, g.dropped = true, h.Op, h.Compressed(), false
		g.msg = getGuardBuffer()
	}
	n := len(*g.msg)
	*g.msg = slices.Grow(*g.msg, int(h.Length))[:n+int(h.Length)]
	if _, err := io.ReadFull(g.in, (*g.msg)[n:]); err != nil {
		return err
	}
	wsframe.Mask((*g.msg)[n:], h.Key, 0)
	if !h.Fin || g.dropped {
		// Every fragment costs a frame of the rate limit; the last one of a
		// message handed on is charged by the message itself (OnMessage).
		if !g.hooks.charge() {
			g.dropped = true
		}
		if !h.Fin {
			return nil
		}
	}
	msg, op, compressed, dropped := g.msg, g.msgOp, g.compressed, g.dropped
	g.msg, g.inMsg = nil, false
	if dropped {
		putGuardBuffer(msg)
		return nil
	}
	if compressed {
		out := getGuardBuffer()
		// Up to the hard limit, so that a message over ReadLimit is refused
		// with FRAME_TOO_LARGE like a plain one.
		b, err := wsframe.Inflate((*out)[:0], *msg, g.rules.hardLimit)
		putGuardBuffer(msg)
		switch {
		case errors.Is(err, wsframe.ErrTooLarge):
			putGuardBuffer(out)
			g.refuse(wsframe.CloseTooLarge, fmt.Sprintf("message inflates past %d bytes", g.rules.hardLimit))
			return nil
		case err != nil:
			putGuardBuffer(out)
			g.refuse(wsframe.CloseInvalidData, "corrupt deflate stream")
			return nil
		}
		*out = b
		msg = out
	}
	// A zero mask key leaves the payload as it is; gws wants client frames masked.
	g.out = wsframe.AppendHeader(g.ctl[:0], wsframe.Header{Fin: true, Op: op, Masked: true, Length: uint64(len(*msg))})
	g.body, g.buf = *msg, msg
	if len(g.body) == 0 {
		putGuardBuffer(msg)
		g.buf = nil
	}
	return nil
}

// release returns the guard's pooled buffers.
func (g *guardConn) release() {
	if g.msg != nil {
		putGuardBuffer(g.msg)
		g.msg, g.inMsg = nil, false
	}
	if g.buf != nil {
		putGuardBuffer(g.buf)
		g.buf, g.body = nil, nil
	}
}

// guardBuffers hold collected and inflated messages, which live only until
// gws has read them.
var guardBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getGuardBuffer() *[]byte { return guardBuffers.Get().(*[]byte) }

func putGuardBuffer(b *[]byte) {
	if cap(*b) <= 64<<10 {
		*b = (*b)[:0]
		guardBuffers.Put(b)
	}
}
