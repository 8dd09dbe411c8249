package netcode

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/internal/peer"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// A game connection has two owners with one job each. gws does the upgrade,
// the extension negotiation and the reading: it parses the client's frames
// and hands them to events. The session (session.go) is the only writer of
// every byte after the upgrade, frames, pongs and closes alike, through its
// bounded queue with write deadlines. gws is given the socket through a
// gwsConn, which keeps what gws would write itself (its answer to a close,
// the close of a protocol error) off the socket and hands it to the session.

// ServeHTTP upgrades a request to a game connection.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	select {
	case <-s.stop:
		http.Error(w, "server is shutting down", http.StatusServiceUnavailable)
		return
	default:
	}
	if origin := r.Header.Get("Origin"); !s.origins.allows(origin) && !(s.cfg.AllowSameOrigin && sameOrigin(origin, r.Host)) {
		s.stats.refusedOrigin.Add(1)
		s.log.Info().Str("remote", r.RemoteAddr).Str("origin", origin).Msg("upgrade refused: origin not allowed")
		http.Error(w, fmt.Sprintf("origin %q may not open a game socket on this server", origin), http.StatusForbidden)
		return
	}
	ip, limited := peer.Key(r.RemoteAddr, s.cfg.LimitLoopback)
	if limited && !s.conns.perIP.acquire(ip) {
		s.stats.refusedPerIP.Add(1)
		s.log.Info().Str("remote", r.RemoteAddr).Int("limit", s.cfg.MaxConnsPerIP).Msg("upgrade refused: too many connections from one address")
		http.Error(w, fmt.Sprintf("too many connections from your address (at most %d); close one and retry", s.cfg.MaxConnsPerIP), http.StatusTooManyRequests)
		return
	}
	release := func() {
		if limited {
			s.conns.perIP.release(ip)
		}
	}
	conn, gc, guard, err := s.upgrade(w, r) // RFC 6455/7692 checks, deflate, the frame guard: upgrade.go
	if err != nil {
		release()
		s.log.Debug().Err(err).Str("remote", r.RemoteAddr).Msg("upgrade refused")
		return
	}
	sess := newSession(s.env, guard.Conn, guard.rules.deflate)
	guard.bind(sess.guardHooks()) // the guard's verdicts and fragments go through the session
	if limited {
		sess.ip, sess.ipHeld = ip, true
	}
	sess.onEnd = s.ended
	conn.Session().Store(sessionKey, sess)
	s.conns.add(sess)
	s.stats.connections.Add(1)
	s.stats.connectionsTotal.Add(1)
	gc.sess.Store(sess)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				sess.panicked("read", v)
			}
			sess.readDone()
		}()
		conn.ReadLoop()
	}()
}

// readBufferSize is gws's read buffer per connection. gws reads from the
// frame guard, which buffers the socket and hands over whole headers and
// payloads, so gws's own buffer only needs to hold a frame header; payloads
// bypass it (bufio reads large requests straight through).
const readBufferSize = 256

const sessionKey = "s"

// ended is the bookkeeping of a connection whose socket has closed: the
// node forgets it and its room lets the seat go (or holds it for a rejoin).
// It runs once per session.
func (s *Server) ended(sess *session) {
	s.conns.remove(sess)
	// Last, so that whoever sees the count drop sees the slot free and the
	// close counted.
	s.stats.connections.Add(-1)
	if h := sess.hub.Load(); h != nil {
		h.room.Do(func(sim *game.Sim) { h.drop(sim, sess, sess.left.Load()) })
	}
	s.log.Debug().Str("conn", sess.id).Str("room", sess.roomID()).Uint32("player", sess.player.Load()).Msg("connection closed")
}

// gwsConn is the socket as gws sees it. Reads go to the frame guard over the
// socket (guardConn, upgrade.go), or straight to the socket (after what
// net/http read ahead before the hijack). Writes go to the socket only until
// the session takes over (the 101 response, or the error of a refused
// upgrade); after that, a close frame gws writes is handed to the session,
// which sends it if it has sent no close yet, and anything else is dropped.
// gws's Close after its last close frame does not close the socket: the
// session does, once its close handshake is done.
type gwsConn struct {
	net.Conn
	early *bufio.Reader // read ahead by net/http; the read goroutine's
	sess  atomic.Pointer[session]
}

func (c *gwsConn) Read(p []byte) (int, error) {
	if c.early != nil {
		if n := c.early.Buffered(); n > 0 {
			return c.early.Read(p[:min(len(p), n)])
		}
		c.early = nil
	}
	return c.Conn.Read(p)
}

func (c *gwsConn) Write(b []byte) (int, error) {
	s := c.sess.Load()
	if s == nil {
		return c.Conn.Write(b)
	}
	// gws writes one whole unmasked frame per call; a close frame's payload
	// fits in the short length form.
	if len(b) >= 2 && b[0]&0x0f == opClose && int(b[1]&0x7f) == len(b)-2 {
		s.closeFromReader(b[2:])
	}
	return len(b), nil
}

func (c *gwsConn) Close() error {
	if c.sess.Load() == nil {
		return c.Conn.Close()
	}
	return nil // the session closes the socket; readDone tells it gws is done
}

// SetDeadline is a read deadline once the session writes: its write
// deadlines are its own.
func (c *gwsConn) SetDeadline(t time.Time) error {
	if c.sess.Load() == nil {
		return c.Conn.SetDeadline(t)
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *gwsConn) SetWriteDeadline(t time.Time) error {
	if c.sess.Load() == nil {
		return c.Conn.SetWriteDeadline(t)
	}
	return nil
}

// closeFromReader sends the close frame gws would have written: its answer
// to the client's close (the client's code echoed), or the code of a
// protocol violation it found (1002; 1009 for a frame over its hard cap).
func (s *session) closeFromReader(payload []byte) {
	if len(payload) < 2 {
		s.sendClose(newControlFrame(opClose, nil))
		return
	}
	if binary.BigEndian.Uint16(payload) == closeMessageTooLarge && !s.isClosing() {
		s.env.stats.framesTooLarge.Add(1) // over gws's hard cap, refused unread
	}
	s.sendClose(newControlFrame(opClose, payload))
}

// panicked ends a connection whose goroutine panicked: it is logged with its
// stack and counted, and the connection is closed with 1011. The node and
// every other connection go on.
func (s *session) panicked(where string, v any) {
	s.env.stats.panics.Add(1)
	s.env.log.Error().Str("conn", s.id).Str("room", s.roomID()).Uint32("player", s.player.Load()).
		Str("goroutine", where).Str("panic", fmt.Sprint(v)).Bytes("stack", debug.Stack()).
		Msg("panic on a connection: closed with 1011")
	if where == "write" { // the writer's state is unknown: no more frames
		s.end()
		return
	}
	s.close(closeInternalError, "internal error")
}

// events is the gws event handler. Its methods run on each connection's read
// goroutine. gws writes nothing of its own accord: pings are answered here,
// through the session, and a close is answered by the session (gwsConn).
type events struct{ srv *Server }

func sessionOf(c *gws.Conn) *session {
	if slot, ok := c.Session().(*sessionSlot); ok {
		return slot.sess.Load()
	}
	v, _ := c.Session().Load(sessionKey)
	s, _ := v.(*session)
	return s
}

// sessionSlot is gws's per-connection session storage, cut down to the one
// value netcode keeps there: every client frame looks its session up
// (sessionOf), and gws's default, a map behind a mutex, cost a lock and a
// string hash per frame. Hot path: one atomic load per client frame. Other
// keys are not kept.
type sessionSlot struct{ sess atomic.Pointer[session] }

func newSessionSlot() gws.SessionStorage { return new(sessionSlot) }

func (s *sessionSlot) Len() int {
	if s.sess.Load() == nil {
		return 0
	}
	return 1
}

func (s *sessionSlot) Load(key string) (any, bool) {
	if v := s.sess.Load(); key == sessionKey && v != nil {
		return v, true
	}
	return nil, false
}

func (s *sessionSlot) Delete(key string) {
	if key == sessionKey {
		s.sess.Store(nil)
	}
}

func (s *sessionSlot) Store(key string, value any) {
	if v, ok := value.(*session); ok && key == sessionKey {
		s.sess.Store(v)
	}
}

func (s *sessionSlot) Range(f func(key string, value any) bool) {
	if v := s.sess.Load(); v != nil {
		f(sessionKey, v)
	}
}

func (e *events) OnOpen(c *gws.Conn) {}

// OnClose runs when gws stops reading; the read goroutine's wrapper tells the
// session (readDone), panic or not.
func (e *events) OnClose(c *gws.Conn, err error) {}

func (e *events) OnPing(c *gws.Conn, payload []byte) {
	if sess := sessionOf(c); sess != nil && sess.admit() {
		sess.pong(payload)
	}
}

func (e *events) OnPong(c *gws.Conn, payload []byte) {
	if sess := sessionOf(c); sess != nil {
		sess.admit()
	}
}

// admit records that sess sent a frame and charges it to its rate limit: it
// reports whether to act on the frame, which it does not once the session is
// closing. Hot path: every client frame; it allocates nothing.
func (sess *session) admit() bool {
	select {
	case <-sess.done:
		// The connection has ended (a failed write, a reset): what gws
		// still holds in its buffer is neither acted on nor counted, and no
		// pause would hold it back.
		return false
	default:
	}
	now := sess.env.clock.Now()
	sess.lastRead.Store(now.UnixNano())
	sess.env.stats.framesIn.Add(1)
	if sess.flooded { // closed for flooding: read as little more as possible
		sess.pause(maxPause)
		return false
	}
	since := now.Sub(sess.opened)
	switch sess.limit.check(since) {
	case frameAllowed:
		return !sess.ending.Load()
	case frameFlood:
		sess.flooded = true
		sess.env.stats.framesRateLimited.Add(1)
		if sess.fail(pb.ErrorCode_ERROR_CODE_RATE_LIMITED, fmt.Sprintf("more than %d frames over the rate of %v a second within %v", sess.env.cfg.FloodDrops, sess.env.cfg.ClientRate, sess.env.cfg.FloodWindow)) {
			sess.env.log.Warn().Str("conn", sess.id).Str("room", sess.roomID()).Uint32("player", sess.player.Load()).Msg("client flooding: closed")
		}
		return false
	}
	sess.env.stats.framesRateLimited.Add(1)
	sess.pause(sess.limit.pause(since))
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
