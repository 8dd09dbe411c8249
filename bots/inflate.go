package bots

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"sync"

	"github.com/klauspost/compress/flate"
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
	wsFIN          = 0x80
	wsRSV1         = 0x40 // "compressed" under permessage-deflate (RFC 7692)
	wsRSV23        = 0x30
	wsOpcode       = 0x0f
	wsControl      = 0x08 // opcodes with this bit are control frames
	wsContinuation = 0x00
	wsMasked       = 0x80
	// maxFrameHeader is the longest header: 2 bytes, a 64-bit length and a
	// mask key.
	maxFrameHeader = 14
	// inflateReadBuffer is the inflateConn's read buffer on the socket.
	inflateReadBuffer = 1024
	// maxPooledBuffer is the largest buffer returned to frameBuffers.
	maxPooledBuffer = 64 << 10
)

// deflateTail completes a permessage-deflate message for an inflater: the
// sync-flush marker the sender stripped, then an empty final block so the
// inflater reports io.EOF.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

var (
	inflaters    = sync.Pool{New: func() any { return flate.NewReader(nil) }}
	frameBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
)

func getBuffer() *[]byte { return frameBuffers.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) <= maxPooledBuffer {
		*b = (*b)[:0]
		frameBuffers.Put(b)
	}
}

var errInflatedTooLarge = errors.New("inflated message too large")

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

	out    []byte  // bytes for gws not yet read: a header or a whole frame
	outBuf *[]byte // pooled backing of out, or nil when out is in header
	header [maxFrameHeader]byte
	plain  uint64 // payload bytes of a passed-through frame not yet read

	msg   *[]byte // compressed payload of a fragmented message so far
	msgOp byte    // its opcode
	src   bytes.Reader
}

func newInflateConn(conn net.Conn, limit int) *inflateConn {
	return &inflateConn{
		Conn:        conn,
		in:          bufio.NewReaderSize(conn, inflateReadBuffer),
		limit:       limit,
		inHandshake: true,
		atLineStart: true,
	}
}

func (c *inflateConn) Read(p []byte) (int, error) {
	for {
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
	h, err := c.in.Peek(2)
	if err != nil {
		return err
	}
	b0, b1 := h[0], h[1]
	hlen := 2
	switch b1 & 0x7f {
	case 126:
		hlen += 2
	case 127:
		hlen += 8
	}
	if b1&wsMasked != 0 {
		hlen += 4
	}
	if h, err = c.in.Peek(hlen); err != nil {
		return err
	}
	length := uint64(b1 & 0x7f)
	switch length {
	case 126:
		length = uint64(binary.BigEndian.Uint16(h[2:]))
	case 127:
		length = binary.BigEndian.Uint64(h[2:])
	}
	op := b0 & wsOpcode
	data := b0&wsControl == 0
	starts := data && op != wsContinuation && b0&wsRSV1 != 0 && b0&wsRSV23 == 0 && b1&wsMasked == 0
	continues := data && op == wsContinuation && c.msg != nil && b0&(wsRSV1|wsRSV23) == 0 && b1&wsMasked == 0
	if data && op != wsContinuation && c.msg != nil {
		return errors.New("websocket: a new message began inside a fragmented one")
	}
	if !starts && !continues {
		c.out = c.header[:copy(c.header[:], h)]
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
	*c.msg = slices.Grow(*c.msg, int(length)+len(deflateTail))[:n+int(length)]
	if _, err := io.ReadFull(c.in, (*c.msg)[n:]); err != nil {
		return err
	}
	if b0&wsFIN == 0 {
		return nil
	}
	return c.inflate()
}

// inflate queues the message collected in c.msg as one plain frame.
func (c *inflateConn) inflate() error {
	msg, op := c.msg, c.msgOp
	c.msg = nil
	defer putBuffer(msg)
	c.src.Reset(append(*msg, deflateTail...))
	fr := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(fr)
	if err := fr.(flate.Resetter).Reset(&c.src, nil); err != nil {
		return fmt.Errorf("inflate: %w", err)
	}
	out := getBuffer()
	buf := (*out)[:maxFrameHeader]
	for {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, len(buf))
		}
		n, err := fr.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if len(buf)-maxFrameHeader > c.limit {
			putBuffer(out)
			return fmt.Errorf("message inflates to more than %d bytes: %w", c.limit, errInflatedTooLarge)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			putBuffer(out)
			return fmt.Errorf("inflate: %w", err)
		}
	}
	*out = buf
	start := maxFrameHeader - putFrameHeader(buf[:maxFrameHeader], op, len(buf)-maxFrameHeader)
	c.out, c.outBuf = buf[start:], out
	return nil
}

// putFrameHeader writes the header of a final, unmasked frame with opcode op
// and size bytes of payload at the end of dst and returns its length.
func putFrameHeader(dst []byte, op byte, size int) int {
	var h [10]byte
	h[0] = wsFIN | op
	n := 2
	switch {
	case size < 126:
		h[1] = byte(size)
	case size <= math.MaxUint16:
		h[1] = 126
		binary.BigEndian.PutUint16(h[2:], uint16(size))
		n = 4
	default:
		h[1] = 127
		binary.BigEndian.PutUint64(h[2:], uint64(size))
		n = 10
	}
	copy(dst[len(dst)-n:], h[:n])
	return n
}
