package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/tickwire/tickwire/clients/web"
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/lobby"
	"github.com/tickwire/tickwire/metrics"
	"github.com/tickwire/tickwire/netcode"
)

type serveConfig struct {
	addr            string
	logLevel        string
	logFormat       string
	deflate         bool
	roomSize        int
	minPlayers      int
	matchDuration   time.Duration
	scoreLimit      int64
	shutdownTimeout time.Duration
	pprof           bool
	gcPercent       int
	openGame        string
	allowedOrigins  string
	web             bool
	demoBots        int
	demo            demoConfig // from demoBots and the modes, by validate
	net             netcode.Config
	lobby           lobbyConfig
}

// defaultGCPercent is --gc-percent's default. A ticking room allocates next
// to nothing, so the collector runs mostly after bursts of joins; at Go's
// 100 the heap a burst of 3,200 joins leaves behind stays resident, at 50 it
// is collected sooner (BENCHMARKS.md, memory per client).
const defaultGCPercent = 50

func serveFlags(fs *flag.FlagSet, c *serveConfig) {
	fs.StringVar(&c.addr, "addr", "127.0.0.1:7350", "listen address (host:port)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	fs.StringVar(&c.logFormat, "log-format", "json", "log format: json or console")
	fs.BoolVar(&c.deflate, "deflate", true, "negotiate permessage-deflate with clients")
	fs.IntVar(&c.net.DeflateLevel, "deflate-level", 1, "flate level for frames, 1 (fast) to 9")
	fs.IntVar(&c.net.TickRate, "tick-rate", 20, "room ticks per second")
	fs.IntVar(&c.roomSize, "room-size", 16, "seats per room")
	fs.IntVar(&c.minPlayers, "min-players", 1, "players needed before a match runs")
	fs.DurationVar(&c.matchDuration, "match-duration", 0, "match length once running; 0 means no time limit")
	fs.Int64Var(&c.scoreLimit, "score-limit", 0, "score that ends a match; 0 means none")
	fs.BoolVar(&c.net.OpenRooms, "open-rooms", false, "also let joins without a lobby ticket name any room id and create it (local play and tests)")
	fs.StringVar(&c.openGame, "open-game", defaultGame, "the game an open room (--open-rooms) plays when its first join names none (a join may name any hosted game: Join.game): "+gameNames()+"; the game's name is also the room's mode on the leaderboards")
	fs.IntVar(&c.net.ReadLimit, "read-limit", 4096, "largest client frame in bytes")
	fs.DurationVar(&c.net.HandshakeTimeout, "handshake-timeout", 5*time.Second, "time allowed from connect to a successful join")
	fs.DurationVar(&c.net.PingInterval, "ping-interval", 10*time.Second, "keepalive ping interval")
	fs.DurationVar(&c.net.IdleTimeout, "idle-timeout", 30*time.Second, "close a client silent for this long")
	fs.DurationVar(&c.net.WriteTimeout, "write-timeout", 5*time.Second, "bound on one socket write")
	fs.IntVar(&c.net.MaxPending, "max-pending", 8, "frames queued per client before they are dropped and it is resynced")
	fs.DurationVar(&c.net.RejoinGrace, "rejoin-grace", 15*time.Second, "hold the seat of a player whose connection dropped (no Leave) this long, for a rejoin with its resume token or ticket; 0: free it at once")
	fs.DurationVar(&c.net.SlowConsumerTimeout, "slow-consumer-timeout", 5*time.Second, "drop a client that stays behind this long (SLOW_CONSUMER)")
	fs.Float64Var(&c.net.ClientRate, "client-rate", 60, "frames a second one client may send, all kinds, past its burst; more are dropped; negative: no limit")
	fs.IntVar(&c.net.ClientBurst, "client-burst", 120, "frames a client may send at once over --client-rate")
	fs.IntVar(&c.net.FloodDrops, "flood-drops", 200, "frames dropped by --client-rate within --flood-window that close a client (RATE_LIMITED); negative: never close")
	fs.DurationVar(&c.net.FloodWindow, "flood-window", 10*time.Second, "the window of --flood-drops")
	fs.IntVar(&c.net.MaxConnsPerIP, "max-conns-per-ip", 64, "connections one client address (IPv6: one /64) may hold; more are refused with HTTP 429; loopback peers are exempt; negative: no limit")
	fs.IntVar(&c.net.MaxRooms, "max-rooms", netcode.DefaultMaxRooms, "rooms this node runs at most; past it joins that would start one are refused (ROOM_FULL), /readyz answers 503 full and the lobby places rooms on other nodes; negative: no limit")
	fs.IntVar(&c.net.MaxSpectators, "max-spectators", netcode.DefaultMaxSpectators, "spectators (joins that take no seat: the page's watch view, an operator's monitor) one room takes at most; past it they are refused (SPECTATORS_FULL); negative: none")
	fs.DurationVar(&c.net.EmptyRoomTimeout, "empty-room-timeout", 5*time.Second, "end a room this long after its last player left (held rejoin seats count as players)")
	fs.DurationVar(&c.net.UnjoinedRoomTimeout, "unjoined-room-timeout", 10*time.Second, "end a room nobody joined this long after it started")
	fs.StringVar(&c.allowedOrigins, "allowed-origins", "", "comma-separated web origins whose pages may open a game socket and call the lobby API from a browser (CORS): https://game.example.com, https://*.example.com, *.example.com; others get HTTP 403 on the socket and no CORS headers from the API; empty: any; clients that send no Origin always may")
	fs.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM, the whole time to stop: running matches play on for it less min(5s, a quarter), then the rest are ended and the stores flushed; a second signal ends the drain early")
	fs.BoolVar(&c.web, "web", true, "serve the page at / (rooms, quick play, leaderboards, a monitor, watch and play in the browser); its own origin may open game sockets whatever --allowed-origins says")
	fs.IntVar(&c.demoBots, "demo-bots", 0, fmt.Sprintf("keep a demo room, listed as demo-<n> (mode demo), in which this many of the server's own bots play %s, for people to watch and join; its seats, duration and score limit are those of the first --modes mode that plays %s, less the bots' seats; its scores go to no leaderboard; 0: none; at most %d", defaultGame, defaultGame, maxDemoBots))
	fs.IntVar(&c.gcPercent, "gc-percent", defaultGCPercent, "the Go collector's GOGC: the heap may grow this many percent over what the last collection kept before the next one; rooms allocate next to nothing while they tick, so a low value costs little CPU and keeps the memory a burst of joins leaves behind small; -1: never collect (not advised); unset, a GOGC in the environment wins")
	fs.BoolVar(&c.pprof, "pprof", false, "serve Go profiles under /debug/pprof/ (for measuring; do not expose publicly)")
	lobbyFlags(fs, &c.lobby)
	configFlag(fs)
}

// gcPercent is the GOGC serve sets, if any: --gc-percent when given (on the
// command line, in the environment or the config file), else GOGC from the
// environment if there is one (the Go runtime has read it), else the default.
func gcPercent(fs *flag.FlagSet, c *serveConfig) (int, bool) {
	if flagSet(fs, "gc-percent") || os.Getenv("GOGC") == "" {
		return c.gcPercent, true
	}
	return 0, false
}

func (c *serveConfig) validate() error {
	switch {
	case c.net.TickRate < 1 || c.net.TickRate > 1000:
		return fmt.Errorf("--tick-rate %d: want 1 to 1000", c.net.TickRate)
	case c.roomSize < 1 || c.roomSize > 1024:
		return fmt.Errorf("--room-size %d: want 1 to 1024", c.roomSize)
	case c.minPlayers < 1 || c.minPlayers > c.roomSize:
		return fmt.Errorf("--min-players %d: want 1 to --room-size (%d)", c.minPlayers, c.roomSize)
	case c.matchDuration < 0:
		return fmt.Errorf("--match-duration %v: must not be negative", c.matchDuration)
	case c.scoreLimit < 0:
		return fmt.Errorf("--score-limit %d: must not be negative", c.scoreLimit)
	case c.net.EmptyRoomTimeout <= 0 || c.net.UnjoinedRoomTimeout <= 0:
		return errors.New("--empty-room-timeout and --unjoined-room-timeout must be positive")
	case c.net.RejoinGrace < 0:
		return fmt.Errorf("--rejoin-grace %v: must not be negative", c.net.RejoinGrace)
	case c.gcPercent != -1 && (c.gcPercent < 10 || c.gcPercent > 1000):
		return fmt.Errorf("--gc-percent %d: want 10 to 1000, or -1 for never", c.gcPercent)
	}
	var err error
	if c.demo, err = newDemoConfig(c.demoBots, c.lobby.modes, c.net.TickRate); err != nil {
		return err
	}
	if games[c.openGame] == nil {
		return fmt.Errorf("--open-game %q: want one of %s", c.openGame, gameNames())
	}
	if n := len(c.lobby.authSecret); n > 0 && n < 32 {
		return fmt.Errorf("--auth-hs256-secret is %d bytes; at least 32 are needed", n)
	}
	if _, _, err := net.SplitHostPort(c.addr); err != nil {
		return fmt.Errorf("--addr %q: %w", c.addr, err)
	}
	c.net.NoDeflate = !c.deflate
	c.net.AllowSameOrigin = c.web
	if c.net.RejoinGrace == 0 {
		c.net.RejoinGrace = -1 // netcode.Config reads 0 as its default
	}
	c.net.AllowedOrigins = nil
	for _, o := range strings.Split(c.allowedOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.net.AllowedOrigins = append(c.net.AllowedOrigins, o)
		}
	}
	if err := (netcode.Config{AllowedOrigins: c.net.AllowedOrigins}).Validate(); err != nil {
		return fmt.Errorf("--allowed-origins: %w", err)
	}
	c.net.Rules = game.Rules{
		Mode:          c.openGame,
		MaxPlayers:    c.roomSize,
		MinPlayers:    c.minPlayers,
		DurationTicks: uint64(c.matchDuration.Seconds() * float64(c.net.TickRate)),
		ScoreLimit:    c.scoreLimit,
	}
	return c.net.Validate()
}

func newLogger(level, format string, w io.Writer) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(level)
	if err != nil || level == "" {
		return zerolog.Nop(), fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	switch format {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339}
	default:
		return zerolog.Nop(), fmt.Errorf("--log-format %q: want json or console", format)
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

func serve(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c serveConfig
	serveFlags(fs, &c)
	fs.Usage = usageWithEnv(fs, "tickwire serve [flags]")
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if err := c.validate(); err != nil {
		return usageError{err}
	}
	if pct, ok := gcPercent(fs, &c); ok {
		debug.SetGCPercent(pct)
	}
	log, err := newLogger(c.logLevel, c.logFormat, stderr)
	if err != nil {
		return usageError{err}
	}
	c.net.Logger = log

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	n, err := newNode(ctx, ln.Addr().String(), c.net, &c.lobby, log)
	if err != nil {
		_ = ln.Close()
		return err
	}
	if c.pprof {
		n.servePprof()
	}
	log.Info().Str("addr", ln.Addr().String()).Str("ws", n.address+netcode.Path).
		Str("node", n.lobby.NodeID()).Str("store", c.lobby.store).
		Int("tick_rate", c.net.TickRate).Int("room_size", c.roomSize).Bool("deflate", c.deflate).
		Bool("open_rooms", c.net.OpenRooms).Int("demo_bots", c.demo.bots).Msg("tickwire serving")
	errc := make(chan error, 1)
	go func() { errc <- n.http.Serve(ln) }()
	if c.demo.bots > 0 {
		n.startDemo(c.demo, ln.Addr().String(), log)
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// From here a second SIGTERM or SIGINT ends the drain early instead of
	// killing the process.
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	stop()
	return n.stop(c.shutdownTimeout, again, log)
}

// node is one server process: its listener's HTTP server, the game server
// and the lobby.
type node struct {
	address   string // ws base URL clients reach this node at
	game      *netcode.Server
	lobby     *lobby.Lobby
	stores    *stores
	http      *http.Server
	stopLobby context.CancelFunc
	demo      atomic.Pointer[demo] // the demo room's keeper (--demo-bots), set once serving
}

// newNode wires a game server and a lobby for a listener at addr.
func newNode(ctx context.Context, addr string, nc netcode.Config, lc *lobbyConfig, log zerolog.Logger) (*node, error) {
	n := &node{address: lc.publicURL}
	if n.address == "" {
		n.address = "ws://" + addr
		if host, _, _ := net.SplitHostPort(addr); net.ParseIP(host).IsUnspecified() {
			log.Warn().Str("addr", addr).Msg("listening on all interfaces without --public-url: the lobby will send clients to an address they cannot reach; set --public-url")
		}
	}
	modes, err := lobby.ParseModes(lc.modes)
	if err != nil {
		return nil, usageError{fmt.Errorf("--modes: %w", err)}
	}
	modeGame, err := gameOfModes(modes)
	if err != nil {
		return nil, usageError{fmt.Errorf("--modes: %w", err)}
	}
	if g, ok := modeGame[nc.Rules.Mode]; ok && nc.OpenRooms && games[nc.Rules.Mode] != nil && g != nc.Rules.Mode {
		return nil, usageError{fmt.Errorf("--open-game %s: the mode of that name in --modes plays %s", nc.Rules.Mode, g)}
	}
	if err := openGamesFit(nc.OpenRooms, modeGame); err != nil {
		return nil, usageError{err}
	}
	secret, err := lc.secretBytes(log)
	if err != nil {
		return nil, usageError{err}
	}
	allowOrigin, err := netcode.OriginMatcher(nc.AllowedOrigins)
	if err != nil {
		return nil, usageError{fmt.Errorf("--allowed-origins: %w", err)}
	}
	st, err := openStores(ctx, lc, lc.ticketTTL, log)
	if err != nil {
		return nil, err
	}
	n.stores = st
	n.lobby, err = lobby.New(ctx, lobby.Config{
		NodeID: lc.nodeID, Address: n.address, Secret: secret, TicketTTL: lc.ticketTTL,
		TickRate: nc.TickRate, Modes: modes,
		Leaderboards: st.boards, Queue: st.queue, Directory: st.dir,
		Rooms:    roomReports(func() *netcode.Server { return n.game }),
		MaxRooms: max(nc.MaxRooms, 0),
		APIKey:   lc.apiKey, MatchInterval: lc.matchInterval, StoreTimeout: lc.storeTimeout,
		RateLimits: lc.rateLimits, AllowOrigin: allowOrigin, Identity: lc.lobbyIdentity(),
		Logger: log.With().Str("component", "lobby").Logger(),
	})
	if err != nil {
		_ = st.close()
		return nil, err
	}
	nc.Admit = admitter(n.lobby)
	if nc.NewGame == nil {
		nc.NewGame = newGameFor(modeGame)
		if nc.OpenGames == nil {
			nc.OpenGames = slices.Sorted(maps.Keys(games))
		}
	}
	also := nc.OnMatchEnd
	nc.OnMatchEnd = func(m netcode.MatchResult) {
		n.lobby.MatchEnded(m.Mode, m.Result.Standings)
		if also != nil {
			also(m)
		}
	}
	if n.game, err = netcode.NewServer(nc); err != nil {
		_ = st.close()
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+netcode.Path, n.game)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", n.serveReady)
	mux.Handle("GET /metrics", metrics.Handler(metrics.Sources{Game: n.game, Lobby: n.lobby, Log: log}))
	mux.Handle("GET /v1/stats", n.lobby.CORS(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { writeStats(w, n.game) })))
	mux.Handle("/v1/", n.lobby.Handler())
	if nc.AllowSameOrigin {
		mux.Handle("/", web.Handler(web.Config{Node: n.lobby.NodeID(), DemoRoom: n.demoRoom}))
	}
	// Game sockets are hijacked, so IdleTimeout only closes idle keep-alive
	// lobby connections; lobby bodies have their own deadline (BodyTimeout).
	n.http = &http.Server{Handler: mux, ReadHeaderTimeout: nc.HandshakeTimeout, IdleTimeout: nc.IdleTimeout}
	lctx, cancel := context.WithCancel(context.Background())
	n.stopLobby = cancel
	n.lobby.Run(lctx)
	return n, nil
}

// servePprof adds the Go profiling endpoints to the node's listener.
func (n *node) servePprof() {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/", n.http.Handler)
	n.http.Handler = mux
}

// shutdown stops accepting, ends every match (crediting the results), closes
// the clients and the stores.
func (n *node) shutdown(ctx context.Context) error {
	n.stopDemo()
	// Stop the listener; game sockets are hijacked and stay. A long-poll
	// must not hold up the rest, so it gets a second, then is cut.
	hctx, cancel := context.WithTimeout(ctx, time.Second)
	if n.http.Shutdown(hctx) != nil {
		_ = n.http.Close()
	}
	cancel()
	err := n.game.Shutdown(ctx) // waits for the clients to answer the close
	n.stopLobby()
	err = errors.Join(err, n.lobby.Close(ctx), n.stores.close())
	return err
}
