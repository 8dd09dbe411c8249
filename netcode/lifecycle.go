package netcode

import (
	"errors"
	"os"
	"time"
)

// How a connection ends. The session sends one close frame (close, fail, or
// the answer to the client's close that gws hands it); once it is written the
// client has closeWait to answer, and the socket closes when it does (gws
// stops reading: readDone) or when the time is up. A close frame stuck
// behind a blocked write gets WriteTimeout more. A failed write ends the
// connection at once. end runs once and does the node's bookkeeping through
// onEnd: the connection count, the address's slot, the seat.

// writeFailed ends a connection whose socket write failed: the client
// stopped reading for WriteTimeout (counted), or it is gone.
func (s *session) writeFailed(err error) {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		s.env.stats.writeTimeouts.Add(1)
		s.env.log.Warn().Str("conn", s.id).Str("room", s.roomID()).Uint32("player", s.player.Load()).Msg("write timed out: client dropped")
	}
	s.end()
}

// closeWait is how long the server waits for a client's answer to its close.
const closeWait = 2 * time.Second

// close sends a close frame (unless one is on its way); the connection ends
// once the client answers it, or closeWait after it is written.
func (s *session) close(code uint16, reason string) {
	s.sendClose(newControlFrame(opClose, closePayload(code, reason)))
}

// sendClose sends the close frame f and releases it.
func (s *session) sendClose(f *frame) {
	s.send(f) // refused only when a close is already on its way
	f.release()
}

// pong answers a client's ping, in turn with the frames before it.
func (s *session) pong(payload []byte) {
	f := newControlFrame(opPong, payload)
	s.send(f)
	f.release()
}

func (s *session) isClosing() bool { return s.ending.Load() }

// closeWritten is the close frame on the wire: if the client has answered
// it already the connection ends now, else within closeWait.
func (s *session) closeWritten() {
	s.mu.Lock()
	s.closeSent = true
	answered := s.readerDone
	if !answered {
		s.armEndLocked(closeWait)
	}
	s.mu.Unlock()
	if answered {
		s.end()
	}
}

// readDone is gws's reading over: the client's close was read (and answered
// by sendClose), or reading failed. The connection ends once the session's
// close frame is written, at once if it is.
func (s *session) readDone() {
	s.mu.Lock()
	s.readerDone = true
	now := s.closeSent || !s.closing
	s.mu.Unlock()
	if now {
		s.end()
	}
}

// armEndLocked ends the connection d from now, whatever else happens.
func (s *session) armEndLocked(d time.Duration) {
	if s.gone {
		return
	}
	if s.endTimer == nil {
		s.endTimer = s.env.clock.AfterFunc(d, s.end)
		return
	}
	s.endTimer.Reset(d)
}

// end closes the socket and tells the node, once.
func (s *session) end() {
	s.mu.Lock()
	if s.gone {
		s.mu.Unlock()
		return
	}
	s.gone, s.closing = true, true
	s.ending.Store(true)
	s.dropLocked()
	t := s.endTimer
	s.mu.Unlock()
	if t != nil {
		t.Stop()
	}
	close(s.done)
	_ = s.netConn.Close()
	if s.onEnd != nil {
		s.onEnd(s)
	}
}

// pause holds the read goroutine for d, or until the connection ends.
func (s *session) pause(d time.Duration) {
	if d <= 0 {
		return
	}
	t := s.env.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
	case <-s.done:
	}
}
