package lobby

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/rs/zerolog"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/lobby/directory"
	"github.com/tickwire/tickwire/lobby/leaderboard"
	"github.com/tickwire/tickwire/lobby/matchmaker"
)

// RoomReport is one room of this node, as the game server sees it.
type RoomReport struct {
	ID      string
	Players int
	Joined  int
	Phase   game.Phase
}

// Config configures a Lobby. Zero fields take the documented defaults.
type Config struct {
	// NodeID names this server process among the nodes. Default: random.
	NodeID string
	// Address is the ws base URL clients use to reach this node's game socket,
	// e.g. ws://127.0.0.1:7350. Required.
	Address string
	// Secret signs join tickets; every node of a cluster needs the same one.
	Secret []byte
	// TicketTTL is how long a join ticket stays valid. Default 60s.
	TicketTTL time.Duration
	// ConsentTTL is how long a party consent stays valid. Default 10m.
	ConsentTTL time.Duration
	// TickRate is the game server's tick rate, to turn mode durations into ticks.
	TickRate int
	// Modes are the kinds of match players can queue for. Required.
	Modes []Mode
	// Stores. Required.
	Leaderboards leaderboard.Store
	Queue        matchmaker.Queue
	Directory    directory.Directory
	// Rooms reports this node's rooms for the directory. Required.
	Rooms func() []RoomReport
	// MaxRooms is how many rooms this node's game server runs at most (its
	// netcode.Config.MaxRooms; 0: no limit). Heartbeats carry it, so that
	// the lobby on every node places new rooms on nodes with room to spare.
	MaxRooms int
	// APIKey authorizes score submissions and board changes over HTTP
	// ("Authorization: Bearer KEY"). Empty refuses them all.
	APIKey string
	// MatchInterval is how often the matchmaker runs. Default 1s.
	MatchInterval time.Duration
	// Heartbeat is how often this node reports itself and its rooms. Default 1s;
	// a node silent for 5 heartbeats is gone, and so are its rooms.
	Heartbeat time.Duration
	Logger    zerolog.Logger

	// StoreTimeout bounds the store calls of one API request (past a
	// long-poll's wait) and of one heartbeat, so that a hung store is
	// answered with 503 store_unavailable instead of a request that hangs.
	// Default 3s.
	StoreTimeout time.Duration
	// AllowOrigin reports whether a page of a web origin (an Origin header)
	// may call the API from a browser (CORS); the node passes the game
	// socket's own check (netcode.OriginMatcher), so the two agree. Nil:
	// any origin.
	AllowOrigin func(origin string) bool
	// Identity, if set, verifies players by the JWTs of the game's auth
	// service; off, the lobby trusts the player_id its caller gives. See
	// Identity.
	Identity Identity
	// RateLimits bound the requests of one client address; zero fields take
	// DefaultRateLimits.
	RateLimits RateLimits
	// BodyTimeout bounds how long a request's body may take to arrive, so a
	// client that sends it a byte at a time (slow loris) holds no handler.
	// Default 10s.
	BodyTimeout time.Duration
}

// Lobby matches players, lists rooms, issues join tickets and keeps
// leaderboards. Start it with Run; stop it by ending Run's context, then Close.
type Lobby struct {
	cfg     Config
	log     zerolog.Logger
	signer  *Signer
	modes   map[string]Mode
	matcher *matchmaker.Matcher

	// failLog logs failed requests, a few per period: a store outage fails
	// every request, and each is answered with 503 anyway.
	failLog zerolog.Logger

	results chan result // match results waiting to be written to boards

	// placedMu guards placed: seats handed out per node since the nodes'
	// last reports, so placement does not wait a heartbeat to see them.
	placedMu    sync.Mutex
	placed      map[string]int
	placedRooms map[string]int // rooms created per node since its last report
	wg          sync.WaitGroup
	now         func() time.Time

	limits   *limiters
	verifier *verifier // nil while Config.Identity is off
	stats    counters
	waits    sync.Map      // mode -> *timing.Histogram of matched tickets' waits
	draining atomic.Bool   // set by SetDraining
	kick     chan struct{} // asks the heartbeat to report now
	house    houseModes    // the modes of this node's house rooms (house.go)
}

// result is one finished match to credit to leaderboards.
type result struct {
	mode      string
	standings []game.Standing
	at        time.Time
	// done counts the (standing, board) submissions already written, in
	// submit's order, so a retry resumes after them: an increment board
	// (<mode>-weekly) must not be credited twice for one match.
	done int
}

// New validates cfg and builds a lobby; it creates the modes' leaderboards.
func New(ctx context.Context, cfg Config) (*Lobby, error) {
	if err := cfg.fill(); err != nil {
		return nil, fmt.Errorf("lobby config: %w", err)
	}
	signer, err := NewSigner(cfg.Secret)
	if err != nil {
		return nil, fmt.Errorf("lobby config: %w", err)
	}
	l := &Lobby{
		cfg:         cfg,
		log:         cfg.Logger.With().Str("node", cfg.NodeID).Logger(),
		failLog:     cfg.Logger.With().Str("node", cfg.NodeID).Logger().Sample(&zerolog.BurstSampler{Burst: 5, Period: 10 * time.Second}),
		signer:      signer,
		modes:       map[string]Mode{},
		results:     make(chan result, 1024),
		placed:      map[string]int{},
		placedRooms: map[string]int{},
		now:         time.Now,
		kick:        make(chan struct{}, 1),
		limits:      newLimiters(cfg.RateLimits),
	}
	if cfg.Identity.on() {
		if l.verifier, err = newVerifier(cfg.Identity, l.log); err != nil {
			return nil, fmt.Errorf("lobby config: identity: %w", err)
		}
	}
	for _, m := range cfg.Modes {
		l.modes[m.Name] = m
		for _, b := range m.Boards() {
			if err := cfg.Leaderboards.CreateBoard(ctx, b); err != nil && !errors.Is(err, leaderboard.ErrBoardExists) {
				return nil, fmt.Errorf("create board %s: %w", b.ID, err)
			}
		}
	}
	l.matcher = matchmaker.New(matchmaker.Config{
		Queue: cfg.Queue,
		Modes: func(name string) (matchmaker.Mode, bool) {
			m, ok := l.modes[name]
			return m.matchmaking(), ok
		},
		Open:     l.openRooms,
		Place:    l.place,
		Matched:  l.matched,
		Interval: cfg.MatchInterval,
		Owner:    cfg.NodeID,
		Logger:   l.log,
	})
	return l, nil
}

func (c *Config) fill() error {
	if c.NodeID == "" {
		c.NodeID = "node-" + uuid.NewString()[:8]
	}
	if c.TicketTTL <= 0 {
		c.TicketTTL = time.Minute
	}
	if c.ConsentTTL <= 0 {
		c.ConsentTTL = 10 * time.Minute
	}
	if c.TickRate <= 0 {
		c.TickRate = 20
	}
	if c.MatchInterval <= 0 {
		c.MatchInterval = time.Second
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = time.Second
	}
	if c.StoreTimeout <= 0 {
		c.StoreTimeout = 3 * time.Second
	}
	if c.BodyTimeout <= 0 {
		c.BodyTimeout = 10 * time.Second
	}
	if err := c.Identity.fill(); err != nil {
		return fmt.Errorf("identity: %w", err)
	}
	if err := c.RateLimits.fill(); err != nil {
		return fmt.Errorf("rate limits: %w", err)
	}
	u, err := url.Parse(c.Address)
	switch {
	case err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "":
		return fmt.Errorf("node address %q: want ws://host:port or wss://host:port", c.Address)
	case len(c.Modes) == 0:
		return errors.New("no game modes")
	case c.Leaderboards == nil || c.Queue == nil || c.Directory == nil || c.Rooms == nil:
		return errors.New("leaderboards, queue, directory and rooms are all required")
	}
	return nil
}

// NodeID is this node's id.
func (l *Lobby) NodeID() string { return l.cfg.NodeID }

// Run reports this node, runs the matchmaker and credits match results until
// ctx ends.
func (l *Lobby) Run(ctx context.Context) {
	l.wg.Add(3)
	go func() { defer l.wg.Done(); l.heartbeat(ctx) }()
	go func() {
		defer l.wg.Done()
		if err := l.matcher.Run(ctx); err != nil && ctx.Err() == nil {
			l.log.Error().Err(err).Msg("matchmaker stopped")
		}
	}()
	go func() { defer l.wg.Done(); l.credit(ctx) }()
}

// Close waits for Run's goroutines, after writing every match result still
// queued (up to ctx's deadline).
func (l *Lobby) Close(ctx context.Context) error {
	if l.verifier != nil {
		l.verifier.stop()
	}
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("lobby close: %w", ctx.Err())
	}
	for {
		select {
		case r := <-l.results:
			if err := l.submit(ctx, &r); err != nil {
				return fmt.Errorf("lobby close: results not written: %w", err)
			}
		default:
			return nil
		}
	}
}

func (l *Lobby) heartbeat(ctx context.Context) {
	t := time.NewTicker(l.cfg.Heartbeat)
	defer t.Stop()
	for {
		l.report(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-l.kick:
		}
	}
}

// report publishes this node and its rooms to the directory.
func (l *Lobby) report(ctx context.Context) {
	rooms := l.cfg.Rooms()
	n := directory.Node{ID: l.cfg.NodeID, Address: l.cfg.Address, Rooms: len(rooms), Draining: l.draining.Load(), MaxRooms: max(l.cfg.MaxRooms, 0)}
	reports := make([]directory.RoomReport, len(rooms))
	for i, r := range rooms {
		n.Players += r.Players
		reports[i] = directory.RoomReport{ID: r.ID, Players: r.Players, Joined: r.Joined, State: roomState(r.Phase)}
	}
	ttl := 5 * l.cfg.Heartbeat
	ctx, cancel := context.WithTimeout(ctx, l.cfg.StoreTimeout)
	defer cancel()
	l.placedMu.Lock()
	clear(l.placed) // the reports below and the other nodes' carry them now
	clear(l.placedRooms)
	l.placedMu.Unlock()
	if err := l.cfg.Directory.Heartbeat(ctx, n, ttl); err != nil {
		l.log.Warn().Err(err).Msg("node heartbeat failed")
		return
	}
	if err := l.cfg.Directory.ReportRooms(ctx, l.cfg.NodeID, reports, ttl); err != nil {
		l.log.Warn().Err(err).Msg("room report failed")
	}
}

func roomState(p game.Phase) directory.State {
	switch p {
	case game.PhaseRunning:
		return "running"
	case game.PhaseEnded:
		return "ended"
	}
	return "waiting"
}

// MatchEnded queues a finished match's standings to be credited to its mode's
// leaderboards. It never blocks: it runs on a room's goroutine.
func (l *Lobby) MatchEnded(mode string, standings []game.Standing) {
	select {
	case l.results <- result{mode: mode, standings: standings, at: l.now()}:
		l.stats.matchesEnded.Add(1)
	default:
		l.stats.resultsDropped.Add(1)
		l.log.Error().Str("mode", mode).Msg("match result queue full; result dropped")
	}
}

// credit writes queued match results to the boards, retrying while a store is
// unavailable.
func (l *Lobby) credit(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-l.results:
			for attempt := 0; ; attempt++ {
				err := l.submit(ctx, &r)
				if err != nil && ctx.Err() != nil {
					l.requeue(r) // Close writes it
				}
				if err == nil || ctx.Err() != nil {
					break
				}
				l.log.Warn().Err(err).Int("attempt", attempt).Msg("crediting match result failed; retrying")
				select {
				case <-ctx.Done():
				case <-time.After(min(time.Duration(attempt+1)*200*time.Millisecond, 5*time.Second)):
				}
			}
		}
	}
}

// submit writes r's standings to its mode's boards, skipping the r.done
// submissions an earlier attempt wrote, and advances r.done as it goes.
func (l *Lobby) submit(ctx context.Context, r *result) error {
	m, ok := l.modes[r.mode]
	if !ok {
		return nil // a room of a mode this node does not know: nothing to credit
	}
	i := 0
	for _, s := range r.standings {
		if s.Account == "" {
			continue // open-room players have no account
		}
		for _, b := range m.Boards() {
			if i++; i <= r.done {
				continue
			}
			if _, err := l.cfg.Leaderboards.Submit(ctx, b.ID, s.Account, s.Name, s.Score, r.at); err != nil {
				l.stats.submitErrors.Add(1)
				return fmt.Errorf("submit %s to %s: %w", s.Account, b.ID, err)
			}
			r.done = i
			l.stats.submissions.Add(1)
		}
	}
	return nil
}

// ErrWrongNode is returned by Admit for a ticket to a room on another node.
var ErrWrongNode = errors.New("room is hosted on another node")

// Admit verifies a join ticket for roomID on this node and returns its claims
// and the rules to create the room with.
func (l *Lobby) Admit(token, roomID string) (Claims, game.Rules, error) {
	c, err := l.signer.Verify(token, l.now())
	if err != nil {
		return Claims{}, game.Rules{}, err
	}
	if c.Room != roomID {
		return Claims{}, game.Rules{}, ErrTicketWrongRoom
	}
	if c.Node != l.cfg.NodeID {
		return Claims{}, game.Rules{}, fmt.Errorf("%w: %s", ErrWrongNode, c.Node)
	}
	if m, ok := l.modes[c.Mode]; ok {
		return c, m.Rules(l.cfg.TickRate), nil
	}
	if r, ok := l.house.get(c.Mode); ok {
		return c, r, nil
	}
	return Claims{}, game.Rules{}, fmt.Errorf("join ticket names unknown mode %q", c.Mode)
}
