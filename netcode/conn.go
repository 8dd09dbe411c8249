package netcode

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lxzan/gws"

	"github.com/tickwire/tickwire/game"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// ServeHTTP upgrades a request to a game connection.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.stop:
		http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
		return
	default:
	}
	if origin := r.Header.Get("Origin"); !s.origins.allows(origin) {
		s.stats.refusedOrigin.Add(1)
		s.log.Info().Str("remote", r.RemoteAddr).Str("origin", origin).Msg("upgrade refused: origin not allowed")
		http.Error(w, fmt.Sprintf("origin %q may not open a game socket on this server", origin), http.StatusForbidden)
		return
	}
	ip, limited := ipKey(r.RemoteAddr, s.cfg.LimitLoopback)
	if limited && !s.conns.perIP.acquire(ip) {
		s.stats.refusedPerIP.Add(1)
		s.log.Info().Str("remote", r.RemoteAddr).Int("limit", s.cfg.MaxConnsPerIP).Msg("upgrade refused: too many connections from one address")
		http.Error(w, fmt.Sprintf("too many connections from your address (at most %d); close one and retry", s.cfg.MaxConnsPerIP), http.StatusTooManyRequests)
		return
	}
	deflate := !s.cfg.NoDeflate && strings.Contains(r.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate")
	conn, err := s.upgrader.Upgrade(w, r)
	if err != nil {
		if limited {
			s.conns.perIP.release(ip)
		}
		s.log.Debug().Err(err).Str("remote", r.RemoteAddr).Msg("upgrade refused")
		return
	}
	sess := newSession(s.env, conn.NetConn(), deflate)
	if limited {
		sess.ip, sess.ipHeld = ip, true
	}
	conn.Session().Store(sessionKey, sess)
	s.conns.add(sess)
	s.stats.connections.Add(1)
	s.stats.connectionsTotal.Add(1)
	go conn.ReadLoop()
}

const sessionKey = "s"

// goroutine.
type events struct{ srv *Server }

func sessionOf(c *gws.Conn) *session {
	v, _ := c.Session().Load(sessionKey)
	s, _ := v.(*session)
	return s
}

func (e *events) OnOpen(c *gws.Conn) {}

func (e *events) OnClose(c *gws.Conn, err error) {
	sess := sessionOf(c)
	if sess == nil {
		return
	}
	sess.mu.Lock()
	sess.gone, sess.closing = true, true
	sess.dropLocked()
	h := sess.hub.Load()
	sess.mu.Unlock()
	_ = sess.netConn.Close()
	e.srv.conns.remove(sess)
	var status interface{ Uint16() uint16 }
	if errors.As(err, &status) && status.Uint16() == closeMessageTooLarge {
		e.srv.stats.framesTooLarge.Add(1) // over gws's hard cap: it closed the connection itself
	}
	// Last, so that whoever sees the count drop sees the slot free and the
	// close counted.
	e.srv.stats.connections.Add(-1)
	if h != nil {
		h.room.Do(func(sim *game.Sim) { h.drop(sim, sess, sess.left.Load()) })
	}
	e.srv.log.Debug().Str("conn", sess.id).Str("room", sess.roomID()).Uint32("player", sess.player.Load()).Err(err).Msg("connection closed")
}

func (e *events) OnPing(c *gws.Conn, payload []byte) {
	if sess := sessionOf(c); sess != nil && !sess.admit() {
		return
	}
	_ = c.WritePong(payload)
}

func (e *events) OnPong(c *gws.Conn, payload []byte) {
	if sess := sessionOf(c); sess != nil {
		sess.admit()
	}
}

// admit records that sess sent a frame and charges it to its rate limit: it
// reports whether to act on the frame. Hot path: every client frame; it
// allocates nothing.
func (sess *session) admit() bool {
	now := sess.env.clock.Now()
	sess.lastRead.Store(now.UnixNano())
	sess.env.stats.framesIn.Add(1)
	if sess.flooded { // closing: read as little more as possible
		time.Sleep(maxPause)
		return false
	}
	since := now.Sub(sess.opened)
	switch sess.limit.check(since) {
	case frameAllowed:
		return true
	case frameFlood:
		sess.flooded = true
		sess.env.stats.framesRateLimited.Add(1)
		if sess.fail(pb.ErrorCode_ERROR_CODE_RATE_LIMITED, fmt.Sprintf("more than %d frames over the rate of %v a second within %v", sess.env.cfg.FloodDrops, sess.env.cfg.ClientRate, sess.env.cfg.FloodWindow)) {
			sess.env.log.Warn().Str("conn", sess.id).Str("room", sess.roomID()).Uint32("player", sess.player.Load()).Msg("client flooding: closed")
		}
		return false
	}
	sess.env.stats.framesRateLimited.Add(1)
	time.Sleep(sess.limit.pause(since))
	return false
}

func (e *events) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	sess := sessionOf(c)
	if sess == nil {
		return
	}
	if !sess.admit() {
		return
	}
	if m.Opcode != gws.OpcodeBinary {
		sess.fail(pb.ErrorCode_ERROR_CODE_BAD_FRAME, "text frames are refused; send binary protobuf ClientFrames")
		return
	}
	if m.Data.Len() > e.srv.cfg.ReadLimit {
		sess.fail(pb.ErrorCode_ERROR_CODE_FRAME_TOO_LARGE, fmt.Sprintf("frame of %d bytes exceeds the limit of %d", m.Data.Len(), e.srv.cfg.ReadLimit))
		return
	}
	e.srv.dispatch(sess, m.Bytes())
}

// dispatch decodes one binary client frame and acts on it; FuzzDispatch drives
// it with arbitrary bytes. Hot path: every client input.
