package netcode

import (
	"errors"
	"fmt"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/rs/zerolog"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/internal/clock"
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
	// OpenGames are the games a join to an open room may name (Join.game),
	// each a mode NewGame makes a game for: the join that creates the room
	// picks its game, and the room runs by Rules with Mode set to that name.
	// A join naming a game not listed is refused with UNKNOWN_GAME, one
	// naming another game than its room's mode with GAME_MISMATCH. Rules.Mode
	// (what a join naming no game creates) is always taken. Default: none
	// but Rules.Mode.
	OpenGames []string
	// Admit verifies a join ticket and says what it grants. A join with a ticket
	// needs Admit to accept it; the room is created on first admitted join with
	// the admission's rules.
	Admit func(ticket, roomID string) (Admission, error)
	// ReadLimit is the largest client message accepted, in bytes, after
	// inflating; a larger one gets FRAME_TOO_LARGE. One over 4 x ReadLimit
	// (at least 16 KiB), compressed or inflated, is not read further: close
	// 1009. Default 4096.
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
	// EmptyRoomTimeout stops a room whose players have all gone this long
	// after the last one left. Default 5s: an empty room still ticks its
	// NPCs. Seats held for a rejoin count as players, so a room whose
	// players dropped waits for RejoinGrace first.
	EmptyRoomTimeout time.Duration
	// UnjoinedRoomTimeout stops a room that no player has joined this long
	// after it was created (CreateRoom, or a join that was then refused).
	// Default 10s.
	UnjoinedRoomTimeout time.Duration
	// MaxRooms bounds the rooms this server runs at once; a join or
	// CreateRoom that would start one more is refused (ROOM_FULL for a
	// join: the client asks the lobby again, which places rooms on nodes
	// with room to spare). Default 256, which a 2-core node runs with
	// headroom: a full arena room of 16 players costs about 3.7 ms of CPU
	// a second (16 x 20 updates at 11.6 µs, see BENCHMARKS.md), so 256 full
	// rooms take about one core, and an idle room about 0.27 ms. Negative:
	// no limit.
	MaxRooms int
	// RejoinGrace is how long the seat of a player whose connection closed
	// without a Leave (a network drop, a reset, the idle timeout) is held:
	// the player stays in the room, stopped, with its entity and score, and
	// takes a seat, until it rejoins with its resume token (or its lobby
	// ticket) or the grace runs out. Default 15s; negative: no grace, the
	// player is removed when its connection closes.
	RejoinGrace time.Duration
	// MaxSpectators is how many spectators (joins with Join.spectate) one
	// room takes at once; one more is refused with SPECTATORS_FULL. A
	// spectator takes no seat and never keeps a room alive, but each costs
	// the room a socket write a tick. Default 32; negative: no spectators.
	MaxSpectators int

	// ClientRate is how many frames per second one connection may send, all
	// kinds counted (inputs, pings, WebSocket control frames, each fragment
	// of a fragmented message; a fragment over the rate drops its message),
	// with bursts of
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
	// "null", or "*" (any). An Origin header is parsed (scheme, host, port;
	// one with a path, query, fragment or user info is refused) and matched
	// by its parts, the host label by label. A request without an Origin
	// header (a non-browser client) is always allowed; a browser from
	// another origin is refused with HTTP 403. Empty (the default): any
	// origin.
	AllowedOrigins []string
	// AllowSameOrigin also lets a page served by this server itself open a
	// game socket whatever AllowedOrigins says: a browser whose Origin names
	// the host the request came to (its Host header, as the browser saw
	// it). tickwire serve sets it while it serves its own page at /.
	AllowSameOrigin bool
	// OnMatchEnd, if set, receives every room's final state when its match
	// ends, on the room's goroutine: it must not block. The lobby uses it to
	// submit scores.
	OnMatchEnd func(MatchResult)
	// Logger receives structured logs. Default: no logs.
	Logger zerolog.Logger
	// Clock is the time the server schedules by: the janitor's rounds, the
	// handshake, idle and close timeouts, the rate limits. Default: the
	// system clock. (Socket write deadlines are the kernel's, in real time.)
	Clock clock.Clock
}

// Admission is what a verified join ticket grants: a seat for one account in
// one room, with the rules to create that room with.
type Admission struct {
	RoomID string
	// Account is the lobby's player id; Name the display name to use.
	Account string
	Name    string
	Rules   game.Rules
	// Spectator is set for a spectator ticket: it admits a join with
	// Join.spectate only, and a seat ticket admits none.
	Spectator bool
	// Party, Rating, Team and Attributes are what the ticket says of the
	// player's matchmaking request; the game reads them in its JoinRequest.
	Party      string
	Rating     float64
	Team       string
	Attributes map[string]string
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
	def(&c.EmptyRoomTimeout, 5*time.Second)
	def(&c.UnjoinedRoomTimeout, 10*time.Second)
	if c.MaxRooms == 0 {
		c.MaxRooms = DefaultMaxRooms
	}
	if c.MaxSpectators == 0 {
		c.MaxSpectators = DefaultMaxSpectators
	}
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
	c.Clock = clock.Or(c.Clock)
	return c
}

// DefaultMaxRooms is Config.MaxRooms's default.
const DefaultMaxRooms = 256

// DefaultMaxSpectators is Config.MaxSpectators's default.
const DefaultMaxSpectators = 32

// maxSpectatorsLimit bounds Config.MaxSpectators: every spectator is a
// write per tick on the room's goroutine.
const maxSpectatorsLimit = 10000

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
	case c.MaxSpectators > maxSpectatorsLimit:
		return fmt.Errorf("max spectators %d: want at most %d per room, or negative for none", c.MaxSpectators, maxSpectatorsLimit)
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
