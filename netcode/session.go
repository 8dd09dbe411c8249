package netcode

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/game"
)

// session is one client connection. Its queue is written by a writer goroutine
// that runs only while there is something to write, so an idle session costs no
// goroutine beyond gws's read loop.
type session struct {
	id      string
	netConn net.Conn
	srv     *Server
	deflate bool // negotiated permessage-deflate
	opened  time.Time

	lastRead atomic.Int64 // unix nanos of the last frame or pong read
	lastPing atomic.Int64 // unix nanos of the last ping sent

	// Set once by the room goroutine when the join succeeds; read by the read
	// goroutine to route inputs.
	hub    atomic.Pointer[hub]
	player atomic.Uint32
	// joining is set by the read goroutine when a join is in flight.
	joining atomic.Bool
	// resync asks the room goroutine for a full snapshot (ResyncRequest).
	resync atomic.Bool

	// delivered is the state tick of the last frame written in full to the socket:
	// the state the client surely has.
	delivered atomic.Uint64

	// mu guards the queue and the writer's state.
	mu       sync.Mutex
	queue    []*frame // ring, cap = Config.MaxPending
	head, n  int
	writing  bool      // the writer is writing a batch
	closing  bool      // a close frame is queued or written: queue nothing more
	gone     bool      // the connection has closed (OnClose ran)
	dropped  int64     // frames dropped because the queue was full, for stats
	batch    []*frame  // frames being written; used by the writer only
	deadline time.Time // current write deadline; used by the writer only

	wake     chan struct{} // signals the writer that frames are queued
	quit     chan struct{} // closed when the session ends
	quitOnce sync.Once

	// Owned by the room goroutine of the session's hub.
	sentTick uint64    // state tick of the last state frame queued
	lagging  bool      // frames were dropped; waiting to drain to catch up
	lagSince time.Time // when the session started lagging
	welcomed bool
}

func newSession(srv *Server, conn net.Conn, deflate bool) *session {
	s := &session{
		id:      newID(),
		netConn: conn,
		srv:     srv,
		deflate: deflate,
		opened:  time.Now(),
		queue:   make([]*frame, srv.cfg.MaxPending),
		batch:   make([]*frame, 0, srv.cfg.MaxPending),
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
	}
	go s.writeLoop()
	s.lastRead.Store(s.opened.UnixNano())
	s.lastPing.Store(s.opened.UnixNano())
	return s
}

// send queues f (taking a reference) and makes sure a writer runs. If the queue
// is full every pending frame is dropped, f is not queued, and send reports
// false: the caller must resync the client. Hot path: once per client per tick.
func (s *session) send(f *frame) bool {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return false
	}
	if s.n == len(s.queue) {
		s.dropLocked()
		if !f.control { // a close or ping still goes out, after the drop
			s.mu.Unlock()
			return false
		}
	}
	f.retain()
	s.queue[(s.head+s.n)%len(s.queue)] = f
	s.n++
	if f.closing {
		s.closing = true
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default: // already signalled
	}
	return true
}

// dropLocked releases every queued frame.
func (s *session) dropLocked() {
	for s.n > 0 {
		s.queue[s.head].release()
		s.queue[s.head] = nil
		s.head = (s.head + 1) % len(s.queue)
		s.n--
		s.dropped++
		s.srv.stats.framesDropped.Add(1)
	}
}

// drained reports whether nothing is queued or being written.
func (s *session) drained() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n == 0 && !s.writing
}

// writeLoop is the session's writer goroutine: it sleeps until frames are
// queued, writes them, and exits when the session ends. A long-lived writer
// costs a small stack but no allocation or goroutine start per tick.
func (s *session) writeLoop() {
	for {
		select {
		case <-s.wake:
		case <-s.quit:
			return
		}
		s.flush()
	}
}

// flush writes queued frames until the queue is empty: one write per frame, or
// one writev when frames piled up. Hot path: once per client per tick.
func (s *session) flush() {
	for {
		s.mu.Lock()
		if s.n == 0 {
			s.writing = false
			s.mu.Unlock()
			return
		}
		s.writing = true
		batch := s.batch[:0]
		for s.n > 0 {
			batch = append(batch, s.queue[s.head])
			s.queue[s.head] = nil
			s.head = (s.head + 1) % len(s.queue)
			s.n--
		}
		s.mu.Unlock()

		size, err := s.writeBatch(batch)
		s.srv.stats.bytesOut.Add(uint64(size))
		closing := false
		for _, f := range batch {
			if err == nil && f.tick > 0 {
				s.delivered.Store(f.tick)
				s.srv.stats.stateFramesOut.Add(1)
			}
			if !f.control {
				s.srv.stats.framesOut.Add(1)
			}
			closing = closing || f.closing
			f.release()
		}
		clear(batch)
		if err != nil || closing {
			s.finish(err == nil)
			return
		}
	}
}

func (s *session) writeBatch(batch []*frame) (int, error) {
	s.refreshDeadline()
	if len(batch) == 1 {
		return s.netConn.Write(batch[0].bytesFor(s.deflate))
	}
	bufs := make(net.Buffers, len(batch)) // only when a backlog built up
	size := 0
	for i, f := range batch {
		bufs[i] = f.bytesFor(s.deflate)
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
	if now.Add(s.srv.cfg.WriteTimeout / 2).Before(s.deadline) {
		return
	}
	s.deadline = now.Add(s.srv.cfg.WriteTimeout)
	_ = s.netConn.SetWriteDeadline(s.deadline)
}

// finish ends the connection after a close frame (graceful) or a failed write.
// After a close frame the client gets a moment to answer before the socket goes.
func (s *session) finish(graceful bool) {
	s.mu.Lock()
	s.closing = true
	s.dropLocked()
	s.mu.Unlock()
	s.stop()
	if graceful {
		_ = s.netConn.SetReadDeadline(time.Now().Add(closeWait))
		return
	}
	_ = s.netConn.Close()
}

// stop ends the writer goroutine.
func (s *session) stop() { s.quitOnce.Do(func() { close(s.quit) }) }

// closeWait is how long the server waits for a client's close reply.
const closeWait = 2 * time.Second

// close queues a close frame; the connection ends once it is written.
func (s *session) close(code uint16, reason string) {
	f := newControlFrame(opClose, closePayload(code, reason))
	s.send(f) // refused only when a close is already on its way
	f.release()
}

func (s *session) playerID() game.PlayerID { return game.PlayerID(s.player.Load()) }
