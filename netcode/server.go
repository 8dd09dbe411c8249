package netcode

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/klauspost/compress/flate"
	"github.com/lxzan/gws"
	"github.com/rs/zerolog"
	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/internal/timing"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// Path is where the game socket is served, under the server's base URL.
const Path = "/ws"

// Config configures a Server. Zero fields take the documented defaults, which
// run on a laptop.
type Config struct {
	// NoDeflate turns permessage-deflate off. By default it is negotiated with
	// every client that offers it.
	NoDeflate bool
	// DeflateLevel is the flate level for frames. Default 1 (best speed).
	DeflateLevel int
	// TickRate is ticks per second for new rooms. Default 20.
	TickRate int
	// Rules are the match rules of new rooms (seats, time and score limits).
	Rules game.Rules
	// NewGame makes the game for a new room of a mode. Required: cmd/tickwire
	// wires the arena (package game/arena) as the default game.
	NewGame func(mode string) game.Game
	// OpenRooms lets a join without a ticket name any room id, and creates the
	// room on first join with Rules. For local play and tests.
	OpenRooms bool
	// Admit verifies a join ticket and says what it grants. A join with a ticket
	// needs Admit to accept it; the room is created on first admitted join with
	// the admission's rules.
	Admit func(ticket, roomID string) (Admission, error)
	// ReadLimit is the largest client frame accepted, in bytes. Default 4096.
	ReadLimit int
	// HandshakeTimeout bounds both the HTTP upgrade and the time from connect to
	// a successful join. Default 5s.
	HandshakeTimeout time.Duration
	// PingInterval is how often the server pings each client. Default 10s.
	PingInterval time.Duration
	// IdleTimeout closes a connection that sent nothing (not even a pong) for
	// this long. Default 30s.
	IdleTimeout time.Duration
	// WriteTimeout bounds one socket write; a client that takes longer is
	// disconnected. Default 5s.
	WriteTimeout time.Duration
	// MaxPending is how many frames may wait in a client's queue before they are
	// dropped and the client is resynced. Default 8.
	MaxPending int
	// SlowConsumerTimeout is how long a client may stay behind before it is
	// dropped. Default 5s.
	SlowConsumerTimeout time.Duration
	// EmptyRoomTimeout stops a room that has had no players this long. Default 30s.
	// Seats held for a rejoin count as players.
	EmptyRoomTimeout time.Duration
	// RejoinGrace is how long the seat of a player whose connection closed
	// without a Leave (a network drop, a reset, the idle timeout) is held:
	// the player stays in the room, stopped, with its entity and score, and
	// takes a seat, until it rejoins with its resume token (or its lobby
	// ticket) or the grace runs out. Default 15s; negative: no grace, the
	// player is removed when its connection closes.
	RejoinGrace time.Duration

	// ClientRate is how many frames per second one connection may send, all
	// kinds counted (inputs, pings, WebSocket control frames), with bursts of
	// up to ClientBurst. A frame over the rate is dropped, and the connection
	// is not read until its next frame is due, so TCP holds back the rest of
	// a flood. Default 60 and 120: the arena client sends 10 inputs a second.
	// A negative rate turns the limit off.
	ClientRate  float64
	ClientBurst int
	// FloodDrops is how many frames a connection may have dropped by
	// ClientRate within FloodWindow; one more closes it with RATE_LIMITED.
	// Default 200 within 10s; a negative FloodDrops only drops, never closes.
	FloodDrops  int
	FloodWindow time.Duration
	// MaxConnsPerIP is how many connections one client address may hold open
	// (IPv6: one /64); more are refused before the upgrade with HTTP 429.
	// The address is the TCP peer (r.RemoteAddr; X-Forwarded-For is not
	// trusted): behind a proxy on another host every client shares the
	// proxy's, so raise or disable the limit there. Loopback peers are not
	// limited unless LimitLoopback is set: a proxy on the same host, and load
	// tests run next to the server (the arena benchmark opens thousands of
	// connections from 127.0.0.1). Default 64; negative: no limit.
	MaxConnsPerIP int
	LimitLoopback bool
	// AllowedOrigins lists the web origins whose pages may open a game socket:
	// "https://game.example.com", "https://*.example.com" (any subdomain),
	// "game.example.com" or "*.example.com" (any scheme), "localhost:8080",
	// "null", or "*" (any). A request without an Origin header (a non-browser
	// client) is always allowed; a browser from another origin is refused with
	// HTTP 403. Empty (the default): any origin.
	AllowedOrigins []string
	// OnMatchEnd, if set, receives every room's final state when its match
	// ends, on the room's goroutine: it must not block. The lobby uses it to
	// submit scores.
	OnMatchEnd func(MatchResult)
	// Logger receives structured logs. Default: no logs.
	Logger zerolog.Logger
}

// Admission is what a verified join ticket grants: a seat for one account in
// one room, with the rules to create that room with.
type Admission struct {
	RoomID string
	// Account is the lobby's player id; Name the display name to use.
	Account string
	Name    string
	Rules   game.Rules
}

// MatchResult is a room's final state, handed to Config.OnMatchEnd. It is a
// copy the receiver may keep.
type MatchResult struct {
	RoomID   string
	Mode     string
	Result   game.Result
	Entities []game.Entity
	Players  []game.Player
	Checksum uint32
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.DeflateLevel == 0 {
		c.DeflateLevel = flate.BestSpeed
	}
	if c.TickRate <= 0 {
		c.TickRate = 20
	}
	if c.ReadLimit <= 0 {
		c.ReadLimit = 4096
	}
	if c.MaxPending <= 0 {
		c.MaxPending = 8
	}
	def(&c.HandshakeTimeout, 5*time.Second)
	def(&c.PingInterval, 10*time.Second)
	def(&c.IdleTimeout, 30*time.Second)
	def(&c.WriteTimeout, 5*time.Second)
	def(&c.SlowConsumerTimeout, 5*time.Second)
	def(&c.EmptyRoomTimeout, 30*time.Second)
	if c.RejoinGrace == 0 {
		c.RejoinGrace = 15 * time.Second
	}
	if c.ClientRate == 0 {
		c.ClientRate = 60
	}
	if c.ClientBurst <= 0 {
		c.ClientBurst = 120
	}
	if c.FloodDrops == 0 {
		c.FloodDrops = 200
	}
	def(&c.FloodWindow, 10*time.Second)
	if c.MaxConnsPerIP == 0 {
		c.MaxConnsPerIP = 64
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.DeflateLevel < flate.HuffmanOnly || c.DeflateLevel > flate.BestCompression:
		return fmt.Errorf("deflate level %d: want -2 to 9", c.DeflateLevel)
	case c.TickRate > 1000:
		return fmt.Errorf("tick rate %d: want 1 to 1000", c.TickRate)
	case c.ReadLimit < 64:
		return fmt.Errorf("read limit %d: want at least 64 bytes", c.ReadLimit)
	case c.MaxPending > 1024:
		return fmt.Errorf("max pending %d: want 1 to 1024", c.MaxPending)
	case c.Rules.MaxPlayers < 0 || c.Rules.MinPlayers < 0:
		return errors.New("room size must not be negative")
	case c.RejoinGrace > 24*time.Hour:
		return fmt.Errorf("rejoin grace %v: want at most 24h", c.RejoinGrace)
	case c.ClientRate > 1e6 || (c.ClientRate > 0 && c.ClientRate < 0.01) || c.ClientRate != c.ClientRate:
		return fmt.Errorf("client rate %v: want 0.01 to 1000000 frames/s, or negative for no limit", c.ClientRate)
	case c.ClientRate > 0 && c.ClientBurst > 1e6:
		return fmt.Errorf("client burst %d: want 1 to 1000000 frames", c.ClientBurst)
	}
	if _, err := parseOrigins(c.AllowedOrigins); err != nil {
		return err
	}
	return nil
}

// Server accepts game clients and runs their rooms. It is an http.Handler for
// Path. Create it with NewServer; stop it with Shutdown.
type Server struct {
	cfg      Config
	log      zerolog.Logger
	upgrader *gws.Upgrader

	// roomsMu guards rooms and retired.
	roomsMu sync.Mutex
	rooms   map[string]*hub
	closed  bool // set by Shutdown: no new rooms
	retired retiredTicks
	// draining is set by Drain and Shutdown: no new joins (rejoins aside) or rooms.
	draining atomic.Bool

	// sessionsMu guards sessions.
	sessionsMu sync.Mutex
	sessions   map[*session]struct{}

	perIP   ipLimiter
	origins originPolicy

	stats    counters
	stopOnce sync.Once
	stop     chan struct{} // closed by Shutdown; ends the janitor
}

// counters are the server's event counts, updated atomically.
type counters struct {
	connections, connectionsTotal       atomic.Int64
	framesOut, bytesOut, framesDropped  atomic.Uint64
	stateFramesOut                      atomic.Uint64
	lagged, resyncs, slowConsumers      atomic.Uint64
	errors, inputsDropped, roomsCreated atomic.Uint64
	seatsHeld, rejoins, seatsExpired    atomic.Uint64
	writeTimeouts                       atomic.Uint64

	// Abuse limits.
	framesIn, framesRateLimited, rateLimitedConns atomic.Uint64
	framesTooLarge, handshakeTimeouts             atomic.Uint64
	refusedPerIP, refusedOrigin                   atomic.Uint64
}

// Stats is a snapshot of a server's counters.
type Stats struct {
	Connections      int64  `json:"connections"`
	ConnectionsTotal int64  `json:"connections_total"`
	Rooms            int    `json:"rooms"`
	RoomsCreated     uint64 `json:"rooms_created"`
	FramesOut        uint64 `json:"frames_out"`
	// StateFramesOut counts welcome, delta and snapshot frames written in
	// full: client-updates delivered.
	StateFramesOut uint64 `json:"state_frames_out"`
	BytesOut       uint64 `json:"bytes_out"`
	FramesDropped  uint64 `json:"frames_dropped"`
	Lagged         uint64 `json:"lagged"`
	Resyncs        uint64 `json:"resyncs"`
	SlowConsumers  uint64 `json:"slow_consumers"`
	Errors         uint64 `json:"errors"`
	InputsDropped  uint64 `json:"inputs_dropped"`
	// SeatsHeld counts players whose connection dropped and whose seat was
	// held for RejoinGrace; Rejoins those who came back (a connection that
	// took over a seat still open included); SeatsExpired those who did not.
	SeatsHeld    uint64 `json:"seats_held"`
	Rejoins      uint64 `json:"rejoins"`
	SeatsExpired uint64 `json:"seats_expired"`
	// WriteTimeouts counts connections dropped because one socket write
	// blocked for WriteTimeout: a client that stopped reading altogether.
	WriteTimeouts uint64 `json:"write_timeouts"`
	// PendingFrames and PendingBytes are what waits in clients' write queues
	// now (a frame shared by several queues counts in each), in-flight partial
	// writes included: bounded by MaxPending+1 frames per client.
	PendingFrames int64 `json:"pending_frames"`
	PendingBytes  int64 `json:"pending_bytes"`

	// FramesIn counts client frames read: messages and WebSocket pings and
	// pongs.
	FramesIn uint64 `json:"frames_in"`
	// FramesRateLimited counts client frames dropped over ClientRate.
	FramesRateLimited uint64 `json:"frames_rate_limited"`
	// RateLimitedConns counts connections closed with RATE_LIMITED.
	RateLimitedConns uint64 `json:"rate_limited_conns"`
	// FramesTooLarge counts connections closed for a frame over ReadLimit
	// (FRAME_TOO_LARGE) or over the hard cap of 4 x ReadLimit, at least 16
	// KiB, that the socket library enforces without reading it (close 1009).
	FramesTooLarge uint64 `json:"frames_too_large"`
	// HandshakeTimeouts counts connections closed with HANDSHAKE_TIMEOUT.
	HandshakeTimeouts uint64 `json:"handshake_timeouts"`
	// RefusedPerIP counts upgrades refused with 429 over MaxConnsPerIP;
	// RefusedOrigin those refused with 403 by AllowedOrigins.
	RefusedPerIP  uint64 `json:"refused_per_ip"`
	RefusedOrigin uint64 `json:"refused_origin"`
}

// NewServer builds a server; it validates cfg.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("netcode config: %w", err)
	}
	if cfg.NewGame == nil {
		return nil, errors.New("netcode config: NewGame is required: it makes each room's game")
	}
	cfg = cfg.withDefaults()
	origins, _ := parseOrigins(cfg.AllowedOrigins) // checked by Validate
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		rooms:    map[string]*hub{},
		sessions: map[*session]struct{}{},
		perIP:    ipLimiter{max: cfg.MaxConnsPerIP, conns: map[netip.Addr]int{}},
		origins:  origins,
		stop:     make(chan struct{}),
	}
	s.upgrader = gws.NewUpgrader(&events{s}, &gws.ServerOption{
		// gws refuses frames past this hard cap; ReadLimit is checked per message
		// so the client hears why.
		ReadMaxPayloadSize: max(cfg.ReadLimit*4, 16<<10),
		ReadBufferSize:     2048,
		HandshakeTimeout:   cfg.HandshakeTimeout,
		PermessageDeflate: gws.PermessageDeflate{
			Enabled: !cfg.NoDeflate,
			// gws compresses nothing for us (frames are deflated once per room
			// by the hub), so its pool of compressors needs only one.
			PoolSize:              1,
			Level:                 cfg.DeflateLevel,
			ServerContextTakeover: false,
			ClientContextTakeover: false,
		},
		Logger: gwsLogger{cfg.Logger},
	})
	go s.janitor()
	return s, nil
}

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
	if limited && !s.perIP.acquire(ip) {
		s.stats.refusedPerIP.Add(1)
		s.log.Info().Str("remote", r.RemoteAddr).Int("limit", s.cfg.MaxConnsPerIP).Msg("upgrade refused: too many connections from one address")
		http.Error(w, fmt.Sprintf("too many connections from your address (at most %d); close one and retry", s.cfg.MaxConnsPerIP), http.StatusTooManyRequests)
		return
	}
	deflate := !s.cfg.NoDeflate && strings.Contains(r.Header.Get("Sec-WebSocket-Extensions"), "permessage-deflate")
	conn, err := s.upgrader.Upgrade(w, r)
	if err != nil {
		if limited {
			s.perIP.release(ip)
		}
		s.log.Debug().Err(err).Str("remote", r.RemoteAddr).Msg("upgrade refused")
		return
	}
	sess := newSession(s, conn.NetConn(), deflate)
	if limited {
		sess.ip, sess.ipHeld = ip, true
	}
	conn.Session().Store(sessionKey, sess)
	s.sessionsMu.Lock()
	s.sessions[sess] = struct{}{}
	s.sessionsMu.Unlock()
	s.stats.connections.Add(1)
	s.stats.connectionsTotal.Add(1)
	go conn.ReadLoop()
}

const sessionKey = "s"

// Stats reports the server's counters.
func (s *Server) Stats() Stats {
	s.roomsMu.Lock()
	rooms := len(s.rooms)
	s.roomsMu.Unlock()
	c := &s.stats
	st := Stats{
		Connections: c.connections.Load(), ConnectionsTotal: c.connectionsTotal.Load(),
		Rooms: rooms, RoomsCreated: c.roomsCreated.Load(),
		FramesOut: c.framesOut.Load(), StateFramesOut: c.stateFramesOut.Load(), BytesOut: c.bytesOut.Load(), FramesDropped: c.framesDropped.Load(),
		Lagged: c.lagged.Load(), Resyncs: c.resyncs.Load(), SlowConsumers: c.slowConsumers.Load(),
		Errors: c.errors.Load(), InputsDropped: c.inputsDropped.Load(),
		SeatsHeld: c.seatsHeld.Load(), Rejoins: c.rejoins.Load(), SeatsExpired: c.seatsExpired.Load(), WriteTimeouts: c.writeTimeouts.Load(),
		FramesIn: c.framesIn.Load(), FramesRateLimited: c.framesRateLimited.Load(), RateLimitedConns: c.rateLimitedConns.Load(),
		FramesTooLarge: c.framesTooLarge.Load(), HandshakeTimeouts: c.handshakeTimeouts.Load(),
		RefusedPerIP: c.refusedPerIP.Load(), RefusedOrigin: c.refusedOrigin.Load(),
	}
	for _, sess := range s.sessionList() {
		frames, bytes := sess.pending()
		st.PendingFrames += int64(frames)
		st.PendingBytes += int64(bytes)
	}
	return st
}

// TickStats merges the tick timing of every room.
type TickStats struct {
	// Ticks, Overruns, Skipped and Histogram count every room's ticks since
	// the server started, ended rooms included: they never go down.
	Ticks, Overruns, Skipped uint64
	Histogram                timing.Snapshot
	// P50, P99 and Max are over every running room's most recent ticks.
	P50, P99, Max time.Duration
}

// TickStats reports the tick timing of all rooms together.
func (s *Server) TickStats() TickStats {
	s.roomsMu.Lock()
	rooms := make([]*game.Room, 0, len(s.rooms))
	for _, h := range s.rooms {
		rooms = append(rooms, h.room)
	}
	ts := TickStats{Ticks: s.retired.ticks, Overruns: s.retired.overruns, Skipped: s.retired.skipped}
	ts.Histogram.Add(s.retired.hist)
	s.roomsMu.Unlock()
	var recent []time.Duration
	for _, r := range rooms {
		st := r.Stats()
		ts.Ticks += st.Ticks
		ts.Overruns += st.Overruns
		ts.Skipped += st.Skipped
		ts.Histogram.Add(r.TickHistogram())
		recent = r.RecentTicks(recent)
	}
	if len(recent) == 0 {
		return ts
	}
	slices.Sort(recent)
	n := len(recent)
	ts.P50, ts.P99, ts.Max = recent[(n-1)*50/100], recent[(n-1)*99/100], recent[n-1]
	return ts
}

// RoomStats reports the tick timing of every running room, by room id.
func (s *Server) RoomStats() map[string]game.Stats {
	s.roomsMu.Lock()
	defer s.roomsMu.Unlock()
	out := make(map[string]game.Stats, len(s.rooms))
	for id, h := range s.rooms {
		out[id] = h.room.Stats()
	}
	return out
}

// RoomInfo is a running room as the lobby's directory shows it.
type RoomInfo struct {
	ID       string
	Mode     string
	Capacity int
	Players  int
	// Joined counts every join the room has taken, leaves included.
	Joined int
	Phase  game.Phase
}

// Rooms lists the running rooms.
func (s *Server) Rooms() []RoomInfo {
	s.roomsMu.Lock()
	defer s.roomsMu.Unlock()
	out := make([]RoomInfo, 0, len(s.rooms))
	for id, h := range s.rooms {
		out = append(out, RoomInfo{
			ID: id, Mode: h.room.Rules().Mode, Capacity: h.capacity,
			Players: int(h.players.Load()), Joined: int(h.joined.Load()),
			Phase: game.Phase(h.phase.Load()),
		})
	}
	return out
}

// ErrRoomElsewhere is what Config.Admit returns for a valid ticket to a room
// that another node hosts; the client is refused with ROOM_NOT_FOUND.
var ErrRoomElsewhere = errors.New("room is hosted on another node")

// ErrRoomExists is returned by CreateRoom for an id in use.
var ErrRoomExists = errors.New("room already exists")

// ErrShuttingDown is returned when the server no longer takes new rooms.
var ErrShuttingDown = errors.New("server is shutting down")

// CreateRoom starts a room with the server's default rules, or with rules if
// given, and returns its id.
func (s *Server) CreateRoom(id string, rules *game.Rules) error {
	if !validRoomID(id) {
		return fmt.Errorf("create room %q: invalid room id", id)
	}
	_, created, err := s.room(id, true, rules)
	if err != nil {
		return fmt.Errorf("create room %s: %w", id, err)
	}
	if !created {
		return fmt.Errorf("create room %s: %w", id, ErrRoomExists)
	}
	return nil
}

// room finds a room, creating it if create is set.
func (s *Server) room(id string, create bool, rules *game.Rules) (h *hub, created bool, err error) {
	s.roomsMu.Lock()
	defer s.roomsMu.Unlock()
	if h := s.rooms[id]; h != nil {
		return h, false, nil
	}
	if s.closed {
		return nil, false, ErrShuttingDown
	}
	if !create {
		return nil, false, nil
	}
	if s.draining.Load() {
		return nil, false, ErrShuttingDown
	}
	r := s.cfg.Rules
	if rules != nil {
		r = *rules
	}
	g := s.cfg.NewGame(r.Mode)
	h = &hub{srv: s, log: s.log.With().Str("room", id).Logger()}
	if h.room, err = game.NewRoom(game.RoomConfig{
		ID: id, TickRate: s.cfg.TickRate, Game: g, Rules: r,
		Seed: randomSeed(), Observer: h,
	}); err != nil {
		return nil, false, fmt.Errorf("mode %s: %w", r.Mode, err)
	}
	h.codec = newCodec(g.Schema())
	h.enc = newEncoder(h.codec)
	h.capacity = h.room.Rules().MaxPlayers
	h.phase.Store(uint32(game.PhaseWaiting))
	s.rooms[id] = h
	s.stats.roomsCreated.Add(1)
	h.room.Start()
	h.log.Info().Str("mode", h.room.Rules().Mode).Int("max_players", h.room.Rules().MaxPlayers).Msg("room created")
	return h, true, nil
}

// removeRoom forgets an ended room, keeping its tick counts. It runs on the
// room's goroutine after its last tick, so those counts are final.
func (s *Server) removeRoom(h *hub) {
	st, hs := h.room.Stats(), h.room.TickHistogram()
	s.roomsMu.Lock()
	if s.rooms[h.room.ID()] == h {
		delete(s.rooms, h.room.ID())
		s.retired.retire(st, hs)
	}
	s.roomsMu.Unlock()
}

// Shutdown stops taking rooms and connections, ends every match (clients get
// the final scores and a "going away" close) and waits for the rooms to stop
// and the clients to answer the close, or ctx to end. To let running matches
// finish first, call Drain and WaitRooms before it.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	s.roomsMu.Lock()
	s.closed = true
	hubs := make([]*hub, 0, len(s.rooms))
	for _, h := range s.rooms {
		hubs = append(hubs, h)
	}
	s.roomsMu.Unlock()
	for _, h := range hubs {
		h.room.Stop(game.EndShutdown)
	}
	var err error
	for _, h := range hubs {
		select {
		case <-h.room.Done():
		case <-ctx.Done():
			err = fmt.Errorf("shutdown: %w", ctx.Err())
		}
		if err != nil {
			break
		}
	}
	s.stopOnce.Do(func() { close(s.stop) })
	for _, sess := range s.sessionList() {
		sess.close(closeGoingAway, "server going away")
	}
	s.waitSessions(ctx)
	return err
}

func (s *Server) sessionList() []*session {
	s.sessionsMu.Lock()
	defer s.sessionsMu.Unlock()
	out := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		out = append(out, sess)
	}
	return out
}

// janitor pings clients and enforces the handshake and idle timeouts. One
// goroutine serves every connection.
func (s *Server) janitor() {
	period := min(s.cfg.PingInterval, s.cfg.HandshakeTimeout, s.cfg.IdleTimeout) / 4
	t := time.NewTicker(max(period, 10*time.Millisecond))
	defer t.Stop()
	ping := newControlFrame(opPing, nil)
	defer ping.release()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			for _, sess := range s.sessionList() {
				s.inspect(sess, now, ping)
			}
		}
	}
}

func (s *Server) inspect(sess *session, now time.Time, ping *frame) {
	switch {
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
	e.srv.sessionsMu.Lock()
	delete(e.srv.sessions, sess)
	e.srv.sessionsMu.Unlock()
	if sess.ipHeld {
		e.srv.perIP.release(sess.ip)
	}
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
	if sess := sessionOf(c); sess != nil && !e.srv.admit(sess) {
		return
	}
	_ = c.WritePong(payload)
}

func (e *events) OnPong(c *gws.Conn, payload []byte) {
	if sess := sessionOf(c); sess != nil {
		e.srv.admit(sess)
	}
}

// admit records that sess sent a frame and charges it to its rate limit: it
// reports whether to act on the frame. Hot path: every client frame; it
// allocates nothing.
func (s *Server) admit(sess *session) bool {
	now := time.Now()
	sess.lastRead.Store(now.UnixNano())
	s.stats.framesIn.Add(1)
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
		s.stats.framesRateLimited.Add(1)
		if sess.fail(pb.ErrorCode_ERROR_CODE_RATE_LIMITED, fmt.Sprintf("more than %d frames over the rate of %v a second within %v", s.cfg.FloodDrops, s.cfg.ClientRate, s.cfg.FloodWindow)) {
			s.log.Warn().Str("conn", sess.id).Str("room", sess.roomID()).Uint32("player", sess.player.Load()).Msg("client flooding: closed")
		}
		return false
	}
	s.stats.framesRateLimited.Add(1)
	time.Sleep(sess.limit.pause(since))
	return false
}

func (e *events) OnMessage(c *gws.Conn, m *gws.Message) {
	defer m.Close()
	sess := sessionOf(c)
	if sess == nil {
		return
	}
	if !e.srv.admit(sess) {
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
func (s *Server) dispatch(sess *session, b []byte) {
	if h := sess.hub.Load(); h != nil {
		if in, ok := decodeInput(b, &h.codec.input); ok {
			s.input(sess, in)
			return
		}
	}
	var f pb.ClientFrame
	if err := proto.Unmarshal(b, &f); err != nil {
		sess.fail(pb.ErrorCode_ERROR_CODE_BAD_FRAME, "frame is not a ClientFrame: "+err.Error())
		return
	}
	s.handle(sess, &f)
}

func (s *Server) handle(sess *session, f *pb.ClientFrame) {
	h := sess.hub.Load()
	switch body := f.Body.(type) {
	case *pb.ClientFrame_Join:
		if h != nil || !sess.joining.CompareAndSwap(false, true) {
			sess.fail(pb.ErrorCode_ERROR_CODE_BAD_FRAME, "already joined")
			return
		}
		s.join(sess, body.Join)
	case *pb.ClientFrame_Input:
		if h == nil { // join still in flight: nothing to steer yet
			return
		}
		in, err := h.codec.input.inputFromWire(body.Input)
		if err != nil {
			sess.fail(pb.ErrorCode_ERROR_CODE_BAD_FRAME, err.Error())
			return
		}
		s.input(sess, in)
	case *pb.ClientFrame_Ping:
		var tick uint64
		if h != nil {
			tick = sess.delivered.Load()
		}
		pong := &pb.ServerFrame{Body: &pb.ServerFrame_Pong{Pong: &pb.Pong{
			ClientTimeUs: body.Ping.ClientTimeUs, ServerTimeUs: time.Now().UnixMicro(), ServerTick: tick,
		}}}
		pf := newFrame(marshal(pong), 0)
		sess.send(pf)
		pf.release()
	case *pb.ClientFrame_Leave:
		// The seat is freed now, not when the socket closes, so a join
		// right after can take it.
		sess.left.Store(true)
		if h != nil {
			h.room.Do(func(sim *game.Sim) { h.drop(sim, sess, true) })
		}
		sess.close(closeNormal, "left")
	case *pb.ClientFrame_Resync:
		if h == nil {
			sess.fail(pb.ErrorCode_ERROR_CODE_BAD_FRAME, "resync before join")
			return
		}
		sess.resync.Store(true)
	default:
		sess.fail(pb.ErrorCode_ERROR_CODE_BAD_FRAME, "empty or unknown frame body")
	}
}

// input hands a client's input to its room.
func (s *Server) input(sess *session, in game.Input) {
	h := sess.hub.Load()
	if h == nil { // join still in flight: nothing to steer yet
		return
	}
	if !h.room.Input(sess.playerID(), in) {
		s.stats.inputsDropped.Add(1)
	}
}

func (s *Server) join(sess *session, j *pb.Join) {
	if j.ProtocolVersion != uint32(pb.ProtocolVersion_PROTOCOL_VERSION_2) {
		sess.fail(pb.ErrorCode_ERROR_CODE_UNSUPPORTED_VERSION, fmt.Sprintf("protocol version %d is not supported; this server speaks 2", j.ProtocolVersion))
		return
	}
	if !validRoomID(j.RoomId) {
		sess.fail(pb.ErrorCode_ERROR_CODE_BAD_FRAME, "room id must be 1 to 64 characters of A-Z a-z 0-9 . _ : -")
		return
	}
	if j.ResumeToken != "" { // a held seat is taken back even while draining
		s.resume(sess, j)
		return
	}
	if s.draining.Load() {
		sess.fail(pb.ErrorCode_ERROR_CODE_SERVER_SHUTDOWN, "server is draining: it takes no new players; ask the lobby for another node")
		return
	}
	name, err := cleanName(j.Name)
	if err != nil {
		sess.fail(pb.ErrorCode_ERROR_CODE_BAD_FRAME, err.Error())
		return
	}
	var account string
	var rules *game.Rules
	switch {
	case j.Ticket != "" && s.cfg.Admit != nil:
		adm, err := s.cfg.Admit(j.Ticket, j.RoomId)
		if errors.Is(err, ErrRoomElsewhere) {
			sess.fail(pb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND, err.Error())
			return
		}
		if err != nil {
			sess.fail(pb.ErrorCode_ERROR_CODE_UNAUTHORIZED, "join ticket refused: "+err.Error())
			return
		}
		account, name, rules = adm.Account, adm.Name, &adm.Rules
	case j.Ticket != "":
		sess.fail(pb.ErrorCode_ERROR_CODE_UNAUTHORIZED, "this server does not take join tickets")
		return
	case !s.cfg.OpenRooms:
		if h, _, _ := s.room(j.RoomId, false, nil); h == nil {
			sess.fail(pb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND, fmt.Sprintf("room %q does not exist", j.RoomId))
			return
		}
		sess.fail(pb.ErrorCode_ERROR_CODE_UNAUTHORIZED, "a join ticket from the lobby is required")
		return
	}
	h, _, err := s.room(j.RoomId, true, rules)
	switch {
	case err != nil:
		sess.fail(pb.ErrorCode_ERROR_CODE_SERVER_SHUTDOWN, err.Error())
		return
	case h == nil:
		sess.fail(pb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND, fmt.Sprintf("room %q does not exist", j.RoomId))
		return
	}
	if !h.room.Do(func(sim *game.Sim) { h.join(sim, sess, name, account) }) {
		sess.fail(pb.ErrorCode_ERROR_CODE_MATCH_ENDED, fmt.Sprintf("room %q has ended", j.RoomId))
	}
}

var roomIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

func validRoomID(id string) bool { return roomIDPattern.MatchString(id) }

// maxName is the longest display name accepted, in bytes.
const maxName = 32

func cleanName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case !utf8.ValidString(name):
		return "", errors.New("name is not valid UTF-8")
	case len(name) > maxName:
		return "", fmt.Errorf("name is %d bytes; at most %d", len(name), maxName)
	case name == "":
		return "player", nil
	}
	return name, nil
}

func newID() string { return uuid.NewString() }

func randomSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}

// gwsLogger sends gws's own messages to zerolog.
type gwsLogger struct{ l zerolog.Logger }

func (g gwsLogger) Error(v ...any) { g.l.Error().Str("component", "gws").Msg(fmt.Sprint(v...)) }
