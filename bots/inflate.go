package bots

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"

	"github.com/tickwire/tickwire/internal/wsframe"
)

// A bot negotiates permessage-deflate itself instead of letting gws do it:
// gws builds a compressor and an inflater for every connection that
// negotiates it (about 380 KiB, nearly all of it a flate writer a bot never
// uses, since its frames are tiny and sent plain). Instead a bot sends the
// offer as a plain header, gws sees no extension, and an [inflateConn] under
// gws inflates each compressed server message with a pooled inflater and
// hands gws the plain frame. The offer asks for no server context takeover,
// so every message inflates on its own and no window is kept per bot.
const deflateOffer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// WebSocket frame header bits (RFC 6455, section 5.2).
const (
	wsFIN          = wsframe.FinBit
	wsRSV1         = wsframe.RSV1Bit // "compressed" under permessage-deflate (RFC 7692)
	wsOpcode       = wsframe.OpMask
	wsContinuation = wsframe.OpContinuation
	// maxFrameHeader is the longest header: 2 bytes, a 64-bit length and a
	// mask key.
	maxFrameHeader = wsframe.MaxHeaderLen
	// inflateReadBuffer is the inflateConn's read buffer on the socket.
	inflateReadBuffer = 1024
	// maxPooledBuffer is the largest buffer returned to frameBuffers.
	maxPooledBuffer = 64 << 10
)

var frameBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getBuffer() *[]byte { return frameBuffers.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) <= maxPooledBuffer {
		*b = (*b)[:0]
		frameBuffers.Put(b)
	}
}

var errInflatedTooLarge = wsframe.ErrTooLarge

// inflateConn is the connection gws reads a server through when the bot
// offered permessage-deflate: it passes the HTTP handshake and every plain
// frame through unchanged and replaces each compressed message (one frame,
// or a first frame with RSV1 and its continuations) by one plain frame of the
// inflated payload. A frame it cannot make sense of is passed through for gws
// to refuse. Only gws's read loop calls Read.
type inflateConn struct {
	net.Conn
	in    *bufio.Reader // the server's bytes
	limit int           // the largest inflated message accepted

	inHandshake bool // still reading the HTTP response
	atLineStart bool // in the handshake, the next byte starts a line

	out     []byte  // bytes for gws not yet read: a header or a whole frame
	outBuf  *[]byte // pooled backing of out, or nil when out is in header
	outRest []byte  // a shared payload to hand gws after the header in out
	header  [maxFrameHeader]byte
	plain   uint64 // payload bytes of a passed-through frame not yet read

	msg   *[]byte // compressed payload of a fragmented message so far
	msgOp byte    // its opcode

	// cache, if set, is where compressed messages other bots already
	// inflated are found (see frameCache); last is the entry of the latest
	// message queued from it, for the Client to reuse its decoded frame.
	// Both belong to gws's read loop, which also runs the Client's handler.
	cache *frameCache
	last  *cachedFrame
}

func newInflateConn(conn net.Conn, limit int) *inflateConn {
	return &inflateConn{
		Conn:        conn,
		in:          bufio.NewReaderSize(conn, inflateReadBuffer),
		limit:       limit,
		inHandshake: true,
		atLineStart: true,
		cache:       sharedFrames,
	}
}

// takeShared returns the cache entry of the latest inflated message if data,
// the payload gws delivered, is exactly its inflated bytes, and forgets it.
func (c *inflateConn) takeShared(data []byte) *cachedFrame {
	e := c.last
	c.last = nil
	if e != nil && bytes.Equal(e.inflated, data) {
		return e
	}
	return nil
}

func (c *inflateConn) Read(p []byte) (int, error) {
	for {
		if len(c.out) == 0 && len(c.outRest) > 0 {
			c.out, c.outRest = c.outRest, nil
		}
		if len(c.out) > 0 {
			n := copy(p, c.out)
			c.out = c.out[n:]
			if len(c.out) == 0 && c.outBuf != nil {
				putBuffer(c.outBuf)
				c.outBuf = nil
			}
			return n, nil
		}
		if c.plain > 0 {
			n, err := c.in.Read(p[:min(uint64(len(p)), c.plain)])
			c.plain -= uint64(n)
			return n, err
		}
		var err error
		if c.inHandshake {
			err = c.handshakeLine()
		} else {
			err = c.nextFrame()
		}
		if err != nil {
			return 0, err
		}
	}
}

// handshakeLine queues the next line (or part of a long one) of the HTTP
// response; the empty line ends the handshake.
func (c *inflateConn) handshakeLine() error {
	line, err := c.in.ReadSlice('\n')
	if len(line) == 0 {
		return err
	}
	if c.atLineStart && (string(line) == "\r\n" || string(line) == "\n") {
		c.inHandshake = false
	}
	c.atLineStart = line[len(line)-1] == '\n'
	buf := getBuffer()
	*buf = append(*buf, line...)
	c.out, c.outBuf = *buf, buf
	return nil
}

// nextFrame reads the next frame header and either queues it to pass through
// with its payload, or reads a compressed frame and, at the end of its
// message, queues the inflated frame.
func (c *inflateConn) nextFrame() error {
	h, hlen, err := wsframe.PeekHeader(c.in)
	if errors.Is(err, wsframe.ErrLength) {
		return fmt.Errorf("websocket: %w", err)
	}
	if err != nil {
		return err
	}
	length, op := h.Length, h.Op
	data := !h.Control()
	starts := data && op != wsContinuation && h.RSV == wsRSV1 && !h.Masked
	continues := data && op == wsContinuation && c.msg != nil && h.RSV == 0 && !h.Masked
	if data && op != wsContinuation && c.msg != nil {
		return errors.New("websocket: a new message began inside a fragmented one")
	}
	if !starts && !continues {
		b, _ := c.in.Peek(hlen)
		c.out = c.header[:copy(c.header[:], b)]
		c.plain = length
		_, err = c.in.Discard(hlen)
		return err
	}
	if _, err := c.in.Discard(hlen); err != nil {
		return err
	}
	if c.msg == nil {
		c.msg, c.msgOp = getBuffer(), op
	}
	n := len(*c.msg)
	if length > uint64(c.limit-n) {
		return fmt.Errorf("compressed message of more than %d bytes: %w", c.limit, errInflatedTooLarge)
	}
	*c.msg = slices.Grow(*c.msg, int(length))[:n+int(length)]
	if _, err := io.ReadFull(c.in, (*c.msg)[n:]); err != nil {
		return err
	}
	if !h.Fin {
		return nil
	}
	return c.inflate()
}

// inflate queues the message collected in c.msg as one plain frame. With a
// cache, a message whose compressed bytes another bot already received is
// not inflated again: its inflated bytes are handed gws from the cache, and
// a new one is added to it.
//
// Hot path: once per compressed message per bot.
func (c *inflateConn) inflate() error {
	msg, op := c.msg, c.msgOp
	c.msg = nil
	defer putBuffer(msg)
	c.last = nil
	var hash uint64
	if c.cache != nil {
		var e *cachedFrame
		if e, hash = c.cache.lookup(*msg); e != nil {
			if len(e.inflated) > c.limit {
				return fmt.Errorf("inflate: %w of %d bytes", errInflatedTooLarge, c.limit)
			}
			c.queueShared(e, op)
			return nil
		}
	}
	out := getBuffer()
	buf, err := wsframe.Inflate((*out)[:maxFrameHeader], *msg, c.limit)
	if err != nil {
		putBuffer(out)
		return fmt.Errorf("inflate: %w", err)
	}
	*out = buf
	if c.cache != nil {
		if e := c.cache.add(hash, *msg, buf[maxFrameHeader:]); e != nil {
			putBuffer(out)
			c.queueShared(e, op)
			return nil
		}
	}
	size := len(buf) - maxFrameHeader
	var h [maxFrameHeader]byte
	hdr := wsframe.AppendHeader(h[:0], wsframe.Header{Fin: true, Op: op, Length: uint64(size)})
	start := maxFrameHeader - len(hdr)
	copy(buf[start:], hdr)
	c.out, c.outBuf = buf[start:], out
	return nil
}

// queueShared queues a plain frame of e's inflated bytes, which gws reads
// from the cache entry itself.
func (c *inflateConn) queueShared(e *cachedFrame, op byte) {
	c.out = wsframe.AppendHeader(c.header[:0], wsframe.Header{Fin: true, Op: op, Length: uint64(len(e.inflated))})
	c.outRest, c.last = e.inflated, e
}
