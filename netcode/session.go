package netcode

import (
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/internal/clock"
)

// session is one client connection, and the only writer of its socket after
// the upgrade: state frames, pongs and close frames all go through send.
// Frames are written straight from the sending goroutine (normally the
// room's) with a non-blocking write while the socket keeps up; only when the
// kernel buffer is full does a writer goroutine start, wait for the socket
// (with a write deadline) and drain a small bounded queue. So a session in
// steady state costs no goroutine beyond gws's read loop, and no room, janitor
// or counter ever waits on a socket: s.mu is held only for non-blocking work.
//
// A connection ends once (end): after one close frame is written and the
// client answers it or closeWait passes, when a write fails, or when the
// close could not be written within WriteTimeout. Then the socket is closed
// and onEnd does the node's bookkeeping.
type session struct {
	chat    chatBucket // touched by the connection's read goroutine only
	id      string
	netConn net.Conn
	// fd is the socket's descriptor for the non-blocking fast path, or -1
	// when the conn has none. It stays valid while s.gone is false: end sets
	// gone under s.mu before it closes the socket, and the fast path writes
	// with s.mu held, so the number cannot be closed (and reused) under it.
	fd      int
	env     *env
	deflate bool // negotiated permessage-deflate
	opened  time.Time

	lastRead atomic.Int64 // unix nanos of the last frame or pong read
	lastPing atomic.Int64 // unix nanos of the last ping sent

	// ip is the client address counted against MaxConnsPerIP, if ipHeld; set
	// before the read loop starts, released when the connection closes.
	ip     netip.Addr
	ipHeld bool
	// limit and flooded belong to the read goroutine.
	limit   rateLimiter
	flooded bool // closed for flooding: ignore whatever else arrives
	// failed is set by the first fail: one Error frame, one count.
	failed atomic.Bool
	// ending is set when a close frame is queued or the connection ends: the
	// read goroutine acts on nothing more it reads.
	ending atomic.Bool
	// done is closed when the connection has ended; onEnd runs then, once.
	done  chan struct{}
	onEnd func(*session)

	// Set by the room goroutine when the join succeeds (and hub cleared when a
	// rejoin on another connection takes the seat); read by the read
	// goroutine to route inputs.
	hub    atomic.Pointer[hub]
	player atomic.Uint32
	// joining is set by the read goroutine when a join is in flight.
	joining atomic.Bool
	// resync asks the room goroutine for a full snapshot (ResyncRequest).
	resync atomic.Bool
	// left is set by the read goroutine on a Leave: the seat is not held.
	left atomic.Bool
	// spectator is set by the read goroutine when its join is a
	// spectator's, before the join reaches the room; never cleared.
	spectator atomic.Bool

	// delivered is the state tick of the last frame written in full to the socket:
	// the state the client surely has.
	delivered atomic.Uint64

	// mu guards everything below up to the room-owned fields.
	mu      sync.Mutex
	queue   []*frame // ring of frames waiting for the writer, cap = Config.MaxPending
	head, n int
	// inflight is a frame partly written (its first inflightOff bytes are on
	// the wire); it is finished before anything else and never dropped.
	inflight    *frame
	inflightOff int
	writing     bool // a writer goroutine owns the socket
	closing     bool // a close frame is queued or written: queue nothing more
	closeSent   bool // the close frame is written
	readerDone  bool // gws stopped reading (the client's close, an error)
	gone        bool // the connection has ended (end ran)
	endTimer    clock.Timer
	dropped     int64
	batch       []*frame  // frames being written; the writer's
	deadline    time.Time // current write deadline; the writer's

	// Owned by the room goroutine of the session's hub.
	sentTick uint64    // state tick of the last state frame queued
	lagging  bool      // frames were dropped; waiting to drain to catch up
	lagSince time.Time // when the session started lagging
	welcomed bool
	resumed  bool // reattached to an existing seat: its Welcome says so
}

func newSession(e *env, conn net.Conn, deflate bool) *session {
	s := &session{
		id:      newID(),
		netConn: conn,
		fd:      socketFD(conn),
		env:     e,
		deflate: deflate,
		opened:  e.clock.Now(),
		done:    make(chan struct{}),
		queue:   make([]*frame, e.cfg.MaxPending),
		batch:   make([]*frame, 0, e.cfg.MaxPending+1),
	}
	s.limit = newRateLimiter(e.cfg)
	s.lastRead.Store(s.opened.UnixNano())
	s.lastPing.Store(s.opened.UnixNano())
	return s
}

// send writes f now if the socket takes it without blocking, or queues it
// (taking a reference) for the writer goroutine. If the queue is full every
// queued frame is dropped, f is not queued, and send reports false: the caller
// must resync the client. Hot path: once per client per tick.
func (s *session) send(f *frame) bool {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return false
	}
	if f.closing {
		s.closing = true
		s.ending.Store(true)
		// The close may wait behind a blocked write for WriteTimeout; then
		// the client has closeWait to answer it.
		s.armEndLocked(s.env.cfg.WriteTimeout + closeWait)
	}
	if !s.writing && s.fd >= 0 && !s.gone {
		return s.sendNow(f) // unlocks
	}
	if s.n == len(s.queue) {
		if f.pong { // a client that does not read its socket needs no pong
			s.mu.Unlock()
			return false
		}
		s.dropLocked()
		if !f.control { // a close or ping still goes out, after the drop
			s.mu.Unlock()
			return false
		}
	}
	f.retain()
	s.queue[(s.head+s.n)%len(s.queue)] = f
	s.n++
	s.startWriterLocked()
	s.mu.Unlock()
	return true
}

// sendNow tries a non-blocking write of f with s.mu held (and releases it). A
// partial write leaves the rest to a writer goroutine. Hot path: it writes the
// descriptor itself rather than through syscall.RawConn, whose locks and
// poller checks cost about a tenth of the write at R=200 (BENCHMARKS.md); s.mu
// already keeps the descriptor open (see fd).
func (s *session) sendNow(f *frame) bool {
	b := f.bytesFor(s.deflate)
	n, err := writeNonBlocking(s.fd, b)
	if err != nil {
		s.mu.Unlock()
		s.writeFailed(err)
		return false
	}
	if n == len(b) {
		s.mu.Unlock()
		s.wrote(f, len(b), nil)
		if f.closing {
			s.closeWritten()
		}
		return true
	}
	f.retain()
	s.inflight, s.inflightOff = f, n
	s.startWriterLocked()
	s.mu.Unlock()
	return true
}

func (s *session) startWriterLocked() {
	if !s.writing {
		s.writing = true
		go s.flush()
	}
}

// wrote accounts for a frame that went out (or failed to).
func (s *session) wrote(f *frame, size int, err error) {
	s.countBytes(size)
	if err != nil {
		return
	}
	if f.tick > 0 {
		s.delivered.Store(f.tick)
		s.env.stats.stateFramesOut.Add(1)
	}
	if !f.control {
		s.env.stats.framesOut.Add(1)
	}
}

// countBytes adds bytes written to the server's count and its room's.
func (s *session) countBytes(n int) {
	if n == 0 {
		return
	}
	s.env.stats.bytesOut.Add(uint64(n))
	if h := s.hub.Load(); h != nil {
		h.bytesOut.Add(uint64(n))
	}
}

// dropLocked releases every queued frame (not the in-flight one).
func (s *session) dropLocked() {
	for s.n > 0 {
		s.queue[s.head].release()
		s.queue[s.head] = nil
		s.head = (s.head + 1) % len(s.queue)
		s.n--
		s.dropped++
		s.env.stats.framesDropped.Add(1)
		if h := s.hub.Load(); h != nil {
			h.framesDropped.Add(1)
		}
	}
}

// pending reports the frames and bytes waiting for the writer, the in-flight
// frame's unwritten rest included.
func (s *session) pending() (frames, bytes int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight != nil {
		frames, bytes = 1, len(s.inflight.bytesFor(s.deflate))-s.inflightOff
	}
	for i := range s.n {
		bytes += len(s.queue[(s.head+i)%len(s.queue)].bytesFor(s.deflate))
	}
	return frames + s.n, bytes
}

// drained reports whether nothing is queued or being written.
func (s *session) drained() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n == 0 && !s.writing
}

// flush is the writer goroutine: it finishes the in-flight frame, then writes
// queued frames with blocking writes (one writev for a backlog) until the
// queue is empty, then hands the socket back to the fast path and exits.
func (s *session) flush() {
	defer func() {
		if v := recover(); v != nil {
			s.panicked("write", v)
		}
	}()
	for {
		s.mu.Lock()
		batch := s.batch[:0]
		off := 0
		if s.inflight != nil {
			batch = append(batch, s.inflight)
			off = s.inflightOff
			s.inflight, s.inflightOff = nil, 0
		}
		for s.n > 0 {
			batch = append(batch, s.queue[s.head])
			s.queue[s.head] = nil
			s.head = (s.head + 1) % len(s.queue)
			s.n--
		}
		if len(batch) == 0 {
			// The fast path writes with the socket's deadline too: a
			// deadline left set would fail its first write once it passed.
			if !s.deadline.IsZero() {
				s.deadline = time.Time{}
				_ = s.netConn.SetWriteDeadline(time.Time{})
			}
			s.writing = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()

		size, err := s.writeBatch(batch, off)
		closing := false
		for _, f := range batch {
			s.wrote(f, 0, err)
			closing = closing || f.closing
			f.release()
		}
		s.countBytes(size)
		clear(batch)
		if err != nil || closing {
			s.mu.Lock()
			s.writing = false
			s.mu.Unlock()
			if err != nil {
				s.writeFailed(err)
			} else {
				s.closeWritten()
			}
			return
		}
	}
}

// writeBatch writes the frames, skipping the first off bytes of the first.
func (s *session) writeBatch(batch []*frame, off int) (int, error) {
	s.refreshDeadline()
	if len(batch) == 1 {
		return s.netConn.Write(batch[0].bytesFor(s.deflate)[off:])
	}
	bufs := make(net.Buffers, len(batch)) // only when a backlog built up
	size := 0
	for i, f := range batch {
		bufs[i] = f.bytesFor(s.deflate)
		if i == 0 {
			bufs[i] = bufs[i][off:]
		}
		size += len(bufs[i])
	}
	_, err := bufs.WriteTo(s.netConn)
	return size, err
}

// refreshDeadline moves the write deadline on once half of WriteTimeout has
// passed, rather than on every write: a write that blocks for longer than
// WriteTimeout still fails, at a fraction of the cost.
func (s *session) refreshDeadline() {
	now := time.Now()
	if now.Add(s.env.cfg.WriteTimeout / 2).Before(s.deadline) {
		return
	}
	s.deadline = now.Add(s.env.cfg.WriteTimeout)
	_ = s.netConn.SetWriteDeadline(s.deadline)
}

func (s *session) playerID() game.PlayerID { return game.PlayerID(s.player.Load()) }
