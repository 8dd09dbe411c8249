package bots

import (
	"bufio"
	"errors"
	"net"
	"sync"
)

// A bot negotiates permessage-deflate itself instead of letting gws do it:
// gws builds a compressor and an inflater for every connection that
// negotiates it (about 380 KiB, nearly all of it a flate writer a bot never
// uses, since its frames are tiny and sent plain). Instead a bot sends the
// offer as a plain header, gws sees no extension, and the bot's own
// [wsReader] inflates each compressed server message with a pooled inflater
// (or finds it in the frame cache). The offer asks for no server context
// takeover, so every message inflates on its own and no window is kept per
// bot.
const deflateOffer = "permessage-deflate; server_no_context_takeover; client_no_context_takeover"

// maxPooledBuffer is the largest buffer returned to frameBuffers.
const maxPooledBuffer = 64 << 10

var frameBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

func getBuffer() *[]byte { return frameBuffers.Get().(*[]byte) }

func putBuffer(b *[]byte) {
	if cap(*b) <= maxPooledBuffer {
		*b = (*b)[:0]
		frameBuffers.Put(b)
	}
}

// handshakeReadBuffer is the buffer of a handshakeConn: the lines of the
// server's HTTP response, and the first frames if they came with it.
const handshakeReadBuffer = 1024

// handshakeConn is the connection gws does the WebSocket handshake through:
// it hands gws the server's HTTP response one line at a time, so that gws's
// own buffered reader never reads past the empty line that ends it. The
// bytes after it, if the server sent frames at once, stay in br for the
// bot's [wsReader]. gws writes through it unchanged and, after the
// handshake, never reads from it again.
type handshakeConn struct {
	net.Conn
	br          *bufio.Reader // nil once a raw reader took what it held
	out         []byte        // the rest of the line gws has not read yet
	line        []byte        // out's backing
	done        bool          // the empty line was handed over
	atLineStart bool
}

func newHandshakeConn(conn net.Conn) *handshakeConn {
	return &handshakeConn{Conn: conn, br: bufio.NewReaderSize(conn, handshakeReadBuffer), atLineStart: true}
}

// errAfterHandshake is what gws would get if it read past the handshake.
var errAfterHandshake = errors.New("bots: read after the handshake")

func (c *handshakeConn) Read(p []byte) (int, error) {
	if len(c.out) == 0 {
		if c.done || c.br == nil {
			return 0, errAfterHandshake
		}
		line, err := c.br.ReadSlice('\n')
		if len(line) == 0 {
			return 0, err
		}
		if c.atLineStart && (string(line) == "\r\n" || string(line) == "\n") {
			c.done = true
		}
		c.atLineStart = line[len(line)-1] == '\n'
		c.line = append(c.line[:0], line...)
		c.out = c.line
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// rest returns the bytes read past the handshake, and the reader they came
// from for a reader that goes on through it.
func (c *handshakeConn) rest() ([]byte, *bufio.Reader) {
	b, _ := c.br.Peek(c.br.Buffered())
	return b, c.br
}
