package bots

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/internal/wsframe"
)

// A bot writes its socket itself once the handshake is done, as it reads
// it (see wsReader), instead of through gws's write queue, which started a
// goroutine per batch of frames and handed every input to it: most of a
// bot's sending was that, not the system call. A bot's frames are a few
// dozen bytes at 10 Hz, which the kernel's send buffer takes at once, so
// the goroutine that sends one writes it itself; a queue and a goroutine
// are needed only while the buffer is full, which a server that reads
// never lets happen.

// writeTimeout bounds how long a bot's writes wait for a server that does
// not read its socket: a queued frame not written by then closes the
// connection, as a blocking write does in the fallback.
const writeTimeout = 10 * time.Second

// frameWriter is a Client's write side after the handshake: a *wsWriter,
// or a test's recorder.
type frameWriter interface {
	// writeMessage sends m as one binary message; ErrBackpressure if
	// maxPendingWrites frames are still waiting for the socket.
	writeMessage(m proto.Message) error
	// writePong answers a ping with its payload.
	writePong(payload []byte) error
	// writeClose sends a close frame with code after the frames before it
	// and then closes the socket. Later writes return net.ErrClosed; a
	// second close does nothing.
	writeClose(code uint16) error
}

// wsWriter is a bot's WebSocket write side over its own socket, after the
// handshake, and the one owner of the socket's writes: the Join, inputs,
// game messages, chat, pongs and the close frame all go through it, each
// frame whole, masked with a fresh key, in the order they were sent.
//
// With a raw socket (see wsread_unix.go) it writes from the goroutine that
// sends, by one non-blocking system call; only when the kernel's buffer is
// full does it queue the frame (the rest of it, if the buffer took part)
// for a flusher goroutine that waits for the socket with writeTimeout, and
// every frame sent meanwhile queues behind it. Without one (TLS, or a
// system without raw sockets) a write blocks the sender, under mu, for up
// to writeTimeout. A write that fails or times out closes the socket, which
// ends the bot's read loop.
type wsWriter struct {
	conn    net.Conn        // the socket, or the TLS connection over it
	raw     syscall.RawConn // conn's socket for non-blocking writes, or nil: blocking writes on conn
	log     zerolog.Logger
	timeout time.Duration // writeTimeout; tests shorten it

	// pending counts the frames accepted and not yet written whole: those
	// queued, or in the blocking fallback the senders waiting for mu. A
	// data frame that would make it exceed maxPendingWrites is refused
	// with ErrBackpressure; pongs and the close frame are not.
	pending atomic.Int32

	// mu guards the fields below; with raw, the socket's writes too while
	// queue is empty (the flusher owns them while it is not); in the
	// fallback, every write.
	mu sync.Mutex
	// buf is the frame being built; it is written, or copied to queue,
	// before mu is released.
	buf []byte
	// queue holds the frames waiting for the flusher, oldest first, the
	// first possibly the rest of a frame the socket took part of. It is
	// not empty exactly while a flusher runs.
	queue   [][]byte
	closing bool  // the close frame was accepted: nothing goes after it
	err     error // why the socket failed; every later write returns it

	// The non-blocking write's arguments and results, for the closure
	// made once (wfn), so that a write allocates nothing. Guarded by mu.
	wfn func(fd uintptr) bool
	wb  []byte
	wn  int
	we  error
}

// newWriter makes the write side over conn; raw is conn's socket, or nil.
func newWriter(conn net.Conn, raw syscall.RawConn, log zerolog.Logger) *wsWriter {
	w := &wsWriter{conn: conn, raw: raw, log: log, timeout: writeTimeout}
	w.wfn = w.writeFd
	return w
}

// initialBufferSize is a writer's frame buffer to start with: an input,
// a chat line or a Join, with their header.
const initialBufferSize = 256

// writeMessage marshals m as a binary frame and sends it.
//
// Hot path: every input of every bot; it allocates nothing once buf has
// grown to the largest frame.
func (w *wsWriter) writeMessage(m proto.Message) error {
	return w.write(wsframe.OpBinary, m, nil)
}

func (w *wsWriter) writePong(payload []byte) error {
	return w.write(wsframe.OpPong, nil, payload)
}

// write builds one frame, of m marshalled or else of payload, and sends it.
func (w *wsWriter) write(op byte, m proto.Message, payload []byte) error {
	control := op&0x8 != 0
	if w.raw == nil {
		if n := w.pending.Add(1); n > maxPendingWrites && !control {
			w.pending.Add(-1)
			return ErrBackpressure
		}
		defer w.pending.Add(-1)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.err != nil:
		return w.err
	case w.closing:
		return net.ErrClosed
	case w.raw != nil && !control && w.pending.Load() >= maxPendingWrites:
		return ErrBackpressure
	}
	f, err := w.frame(op, m, payload)
	if err != nil {
		return err
	}
	return w.sendLocked(f)
}

// writeClose sends a close frame with code, then closes the socket: at
// once if the frame is written at once, else once the flusher has written
// it (and what was queued before it) or timed out.
func (w *wsWriter) writeClose(code uint16) error {
	w.mu.Lock()
	if w.closing || w.err != nil {
		w.mu.Unlock()
		return nil
	}
	w.closing = true
	w.buf = wsframe.AppendClose(w.buf[:wsframe.MaxHeaderLen], code, "")
	err := w.sendLocked(w.framed(wsframe.OpClose))
	queued := len(w.queue) > 0
	w.mu.Unlock()
	if !queued {
		w.closeSocket()
	}
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

// frame builds a frame in buf: m marshalled, or payload.
func (w *wsWriter) frame(op byte, m proto.Message, payload []byte) ([]byte, error) {
	if cap(w.buf) == 0 {
		w.buf = make([]byte, 0, initialBufferSize)
	}
	b := w.buf[:wsframe.MaxHeaderLen]
	if m != nil {
		var err error
		if b, err = (proto.MarshalOptions{}).MarshalAppend(b, m); err != nil {
			return nil, fmt.Errorf("encode frame: %w", err)
		}
	} else {
		b = append(b, payload...)
	}
	w.buf = b
	return w.framed(op), nil
}

// framed frames the payload in buf as an op frame, masked.
func (w *wsWriter) framed(op byte) []byte {
	return wsframe.FrameInPlace(w.buf, wsframe.Header{Fin: true, Op: op, Masked: true, Key: wsframe.NewMaskKey()})
}

// sendLocked writes f, or queues it; w.mu must be held. f is not kept.
func (w *wsWriter) sendLocked(f []byte) error {
	if w.raw == nil {
		return w.writeBlocking(f)
	}
	if len(w.queue) == 0 {
		n, err := w.tryWrite(f)
		if err != nil {
			w.failLocked(err)
			// Not here: a pong is written from inside the read loop's
			// RawConn.Read, and Close waits for that to return.
			go w.closeSocket()
			return w.err
		}
		if n == len(f) {
			return nil
		}
		f = f[n:]
		go w.flush()
	}
	w.queue = append(w.queue, append([]byte(nil), f...))
	w.pending.Add(1)
	return nil
}

// writeBlocking writes f whole, waiting up to w.timeout; w.mu must be
// held.
func (w *wsWriter) writeBlocking(f []byte) error {
	_ = w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
	if _, err := w.conn.Write(f); err != nil {
		w.failLocked(err)
		go w.closeSocket()
		return w.err
	}
	return nil
}

// flush is the flusher: it writes the queued frames, oldest first, each
// waiting for the socket up to w.timeout, until the queue is empty. It
// then gives the socket's writes back to the senders, or closes the socket
// if the close frame was among them.
func (w *wsWriter) flush() {
	for {
		w.mu.Lock()
		f := w.queue[0]
		w.mu.Unlock()
		_ = w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
		_, err := w.conn.Write(f) // the poller waits for the socket
		w.mu.Lock()
		if err != nil {
			w.failLocked(err)
			w.mu.Unlock()
			w.closeSocket()
			return
		}
		w.queue[0] = nil
		w.queue = w.queue[1:]
		w.pending.Add(-1)
		if len(w.queue) == 0 {
			w.queue = nil
			closing := w.closing
			if !closing {
				// Before a sender writes again: its non-blocking write
				// would fail once the deadline has passed.
				_ = w.conn.SetWriteDeadline(time.Time{})
			}
			w.mu.Unlock()
			if closing {
				w.closeSocket()
			}
			return
		}
		w.mu.Unlock()
	}
}

// failLocked records why the socket failed and drops the queue; w.mu must
// be held.
func (w *wsWriter) failLocked(err error) {
	if w.err != nil {
		return
	}
	w.pending.Add(-int32(len(w.queue)))
	w.queue = nil
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		w.log.Warn().Dur("timeout", w.timeout).Msg("the server has not read this bot's frames; closing")
	case errors.Is(err, net.ErrClosed):
	default:
		w.log.Debug().Err(err).Msg("write failed")
	}
	w.err = fmt.Errorf("write: %w", err)
}

// closeSocket closes the connection; it may already be closed.
func (w *wsWriter) closeSocket() {
	_ = w.conn.Close()
}
