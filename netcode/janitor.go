package netcode

import (
	"time"

	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// janitor pings clients and enforces the handshake and idle timeouts. One
// goroutine serves every connection.
func (s *Server) janitor() {
	period := min(s.cfg.PingInterval, s.cfg.HandshakeTimeout, s.cfg.IdleTimeout) / 4
	period = max(period, 10*time.Millisecond)
	t := s.env.clock.NewTimer(period)
	defer t.Stop()
	ping := newControlFrame(opPing, nil)
	defer ping.release()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C():
			for _, sess := range s.conns.list() {
				s.inspect(sess, now, ping)
			}
			t.Reset(period)
		}
	}
}

func (s *Server) inspect(sess *session, now time.Time, ping *frame) {
	switch {
	case sess.isClosing(): // its close is on its way; it ends within a bound
	case sess.hub.Load() == nil && now.Sub(sess.opened) > s.cfg.HandshakeTimeout:
		sess.fail(pb.ErrorCode_ERROR_CODE_HANDSHAKE_TIMEOUT, "no successful join in time")
	case now.UnixNano()-sess.lastRead.Load() > int64(s.cfg.IdleTimeout):
		sess.fail(pb.ErrorCode_ERROR_CODE_IDLE_TIMEOUT, "nothing received in time")
	case now.UnixNano()-sess.lastPing.Load() > int64(s.cfg.PingInterval):
		sess.lastPing.Store(now.UnixNano())
		sess.send(ping)
	}
}

// events is the gws event handler. Its methods run on each connection's read
