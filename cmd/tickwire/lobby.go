package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/tickwire/tickwire/lobby"
	"github.com/tickwire/tickwire/lobby/directory"
	"github.com/tickwire/tickwire/lobby/leaderboard"
	"github.com/tickwire/tickwire/lobby/matchmaker"
	"github.com/tickwire/tickwire/netcode"
)

// lobbyConfig is the lobby half of serve's flags.
type lobbyConfig struct {
	store         string
	dataDir       string
	redisURL      string
	redisPrefix   string
	nodeID        string
	publicURL     string
	secret        string
	apiKey        string
	modes         string
	ticketTTL     time.Duration
	matchInterval time.Duration
	storeTimeout  time.Duration
	rateLimits    lobby.RateLimits
	authSecret    string
	identity      lobby.Identity
}

func lobbyFlags(fs *flag.FlagSet, c *lobbyConfig) {
	fs.StringVar(&c.store, "store", "embedded", "where lobby state lives: embedded (a local bbolt file) or redis (shared by several nodes)")
	fs.StringVar(&c.dataDir, "data-dir", "tickwire-data", "directory of the embedded store")
	fs.StringVar(&c.redisURL, "redis-url", "redis://127.0.0.1:6379/0", "Redis server for --store=redis")
	fs.StringVar(&c.redisPrefix, "redis-prefix", "tickwire:", "prefix of every Redis key")
	fs.StringVar(&c.nodeID, "node-id", "", "this node's id among the nodes; default: random")
	fs.StringVar(&c.publicURL, "public-url", "", "ws base URL clients use to reach this node; default ws://<addr>")
	fs.StringVar(&c.secret, "ticket-secret", "", "secret (16+ bytes) that signs join tickets; required with --store=redis, random per process otherwise")
	fs.StringVar(&c.apiKey, "api-key", "", "bearer key for score submissions and board changes over the API; empty refuses them")
	fs.StringVar(&c.modes, "modes", "arena:16:2m,duel:2:1m", "game modes as name:size[:duration[:scorelimit]][:game], comma-separated; game is one of "+gameNames()+" (default "+defaultGame+"), e.g. arena:16:2m,c4:2:10m:connect4,war:4:5m:tanks")
	fs.DurationVar(&c.ticketTTL, "ticket-ttl", time.Minute, "how long a join ticket stays valid")
	fs.DurationVar(&c.matchInterval, "match-interval", time.Second, "how often the matchmaker runs")
	def := lobby.DefaultRateLimits()
	fs.Float64Var(&c.rateLimits.API.Rate, "api-rate", def.API.Rate, "lobby API requests a second one client address (IPv6: one /64) may make past its burst; more get 429 rate_limited; negative: no limit")
	fs.IntVar(&c.rateLimits.API.Burst, "api-burst", def.API.Burst, "lobby API requests an address may make at once over --api-rate")
	fs.Float64Var(&c.rateLimits.JoinCode.Rate, "join-code-rate", def.JoinCode.Rate, "join-by-code attempts a second per address (on top of --api-rate); negative: no limit")
	fs.IntVar(&c.rateLimits.JoinCode.Burst, "join-code-burst", def.JoinCode.Burst, "join-by-code attempts an address may make at once")
	fs.Float64Var(&c.rateLimits.CreateRoom.Rate, "room-create-rate", def.CreateRoom.Rate, "rooms a second one caller (verified player, else address) may create with POST /v1/rooms; negative: no limit")
	fs.IntVar(&c.rateLimits.CreateRoom.Burst, "room-create-burst", def.CreateRoom.Burst, "rooms a caller may create at once over --room-create-rate")
	fs.BoolVar(&c.rateLimits.LimitLoopback, "api-limit-loopback", false, "apply the lobby's rate limits to loopback peers too (they are exempt by default: a proxy on the host, local tests)")
	fs.StringVar(&c.authSecret, "auth-hs256-secret", "", "verify players: the secret (32+ bytes) of the HS256 JWTs your auth service issues; the lobby then takes the player id from sub (see README, Player identity)")
	fs.StringVar(&c.identity.JWKSURL, "auth-jwks-url", "", "verify players: the JWK Set URL of your auth service, for RS256 and ES256 JWTs (https; http only on loopback)")
	fs.StringVar(&c.identity.Issuer, "auth-issuer", "", "with verified players: the iss every token must carry; empty: not checked")
	fs.StringVar(&c.identity.Audience, "auth-audience", "", "with verified players: the aud every token must carry; empty: not checked")
	fs.StringVar(&c.identity.NameClaim, "auth-name-claim", "name", "with verified players: the claim holding the display name")
	fs.DurationVar(&c.identity.Leeway, "auth-leeway", 30*time.Second, "with verified players: clock skew allowed on exp, nbf and iat")
	fs.DurationVar(&c.storeTimeout, "store-timeout", 3*time.Second, "bound on the store calls of one lobby request or heartbeat; past it the request is answered 503 store_unavailable")
}

// stores are the lobby's three stores and how to close them.
type stores struct {
	boards leaderboard.Store
	queue  matchmaker.Queue
	dir    directory.Directory
	close  func() error
	// ping reports whether the store answers, for readiness.
	ping func(context.Context) error
}

func openStores(ctx context.Context, c *lobbyConfig, grace time.Duration, log zerolog.Logger) (*stores, error) {
	if c.storeTimeout < 0 {
		return nil, usageError{fmt.Errorf("--store-timeout %v: must not be negative", c.storeTimeout)}
	}
	switch c.store {
	case "embedded":
		if err := os.MkdirAll(c.dataDir, 0o750); err != nil {
			return nil, fmt.Errorf("data dir %s: %w", c.dataDir, err)
		}
		b, err := leaderboard.OpenBolt(filepath.Join(c.dataDir, "leaderboards.db"), leaderboard.BoltOptions{})
		if err != nil {
			return nil, fmt.Errorf("open embedded store: %w", err)
		}
		ping := func(ctx context.Context) error { _, err := b.Boards(ctx); return err }
		return &stores{boards: b, queue: matchmaker.NewMemory(), dir: directory.NewMemory(grace), close: b.Close, ping: ping}, nil
	case "redis":
		opts, err := redis.ParseURL(c.redisURL)
		if err != nil {
			return nil, fmt.Errorf("--redis-url %q: %w", c.redisURL, err)
		}
		redis.SetLogger(redisLogger{log.With().Str("component", "redis").Logger().
			Sample(&zerolog.BurstSampler{Burst: 3, Period: 10 * time.Second})})
		rc := redis.NewClient(opts)
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := rc.Ping(pctx).Err(); err != nil {
			_ = rc.Close()
			return nil, fmt.Errorf("redis at %s: %w", opts.Addr, err)
		}
		return &stores{
			boards: leaderboard.NewRedis(rc, c.redisPrefix),
			queue:  matchmaker.NewRedis(rc, c.redisPrefix),
			dir:    directory.NewRedis(rc, c.redisPrefix, grace),
			close:  rc.Close,
			ping:   func(ctx context.Context) error { return rc.Ping(ctx).Err() },
		}, nil
	}
	return nil, fmt.Errorf("--store %q: want embedded or redis", c.store)
}

// redisLogger sends go-redis's own messages (a failed dial of its pool, say)
// to the node's log, a few per period: while Redis is away it would write one
// per command tried. The lobby reports the failures themselves.
type redisLogger struct{ log zerolog.Logger }

func (r redisLogger) Printf(_ context.Context, format string, v ...any) {
	r.log.Warn().Msg(fmt.Sprintf(format, v...))
}

func (c *lobbyConfig) secretBytes(log zerolog.Logger) ([]byte, error) {
	if c.secret != "" {
		if len(c.secret) < lobby.MinSecret {
			return nil, fmt.Errorf("--ticket-secret is %d bytes; at least %d are needed", len(c.secret), lobby.MinSecret)
		}
		return []byte(c.secret), nil
	}
	if c.store == "redis" {
		return nil, errors.New("--ticket-secret is required with --store=redis: every node must verify the others' tickets")
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	log.Info().Msg("no --ticket-secret: using a random one; join tickets are valid on this process only")
	return b, nil
}

// admitter adapts the lobby's ticket check to the game server's.
func admitter(l *lobby.Lobby) func(ticket, roomID string) (netcode.Admission, error) {
	return func(ticket, roomID string) (netcode.Admission, error) {
		c, rules, err := l.Admit(ticket, roomID)
		if errors.Is(err, lobby.ErrWrongNode) {
			return netcode.Admission{}, fmt.Errorf("%w: %v", netcode.ErrRoomElsewhere, err)
		}
		if err != nil {
			return netcode.Admission{}, err
		}
		return netcode.Admission{RoomID: c.Room, Account: c.Player, Name: c.Name, Rules: rules, Party: c.Party, Rating: c.Rating,
			Team: c.Team, Attributes: c.Attributes, Spectator: c.Spectate}, nil
	}
}

// roomReports adapts the game server's room list to the lobby's.
func roomReports(gs func() *netcode.Server) func() []lobby.RoomReport {
	return func() []lobby.RoomReport {
		rooms := gs().Rooms()
		out := make([]lobby.RoomReport, len(rooms))
		for i, r := range rooms {
			out[i] = lobby.RoomReport{ID: r.ID, Players: r.Players, Joined: r.Joined, Phase: r.Phase}
		}
		return out
	}
}

// lobbyIdentity is the lobby's Identity from the --auth-* flags.
func (c *lobbyConfig) lobbyIdentity() lobby.Identity {
	id := c.identity
	if c.authSecret != "" {
		id.HS256Secret = []byte(c.authSecret)
	}
	return id
}
