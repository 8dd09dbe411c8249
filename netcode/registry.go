package netcode

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/internal/timing"
)

// registry is the node's rooms by id: it creates them on demand, forgets them
// when they end and keeps the tick counts of the ended ones. Its methods are
// safe for concurrent use; none of them waits on a room or a socket.
type registry struct {
	env *env

	// mu guards rooms, ending, closed and retired.
	mu    sync.Mutex
	rooms map[string]*hub
	// ending are the rooms that have left rooms (their match ended) but
	// whose players have not been told yet, so Shutdown waits for them too.
	ending  map[*hub]struct{}
	closed  bool // set by Shutdown: no new rooms
	retired retiredTicks
	// draining is set by Drain and Shutdown: no new joins (rejoins aside) or rooms.
	draining atomic.Bool
}

func newRegistry(e *env) *registry {
	return &registry{env: e, rooms: map[string]*hub{}, ending: map[*hub]struct{}{}}
}

// ErrRoomElsewhere is what Config.Admit returns for a valid ticket to a room
// that another node hosts; the client is refused with ROOM_NOT_FOUND.
var ErrRoomElsewhere = errors.New("room is hosted on another node")

// ErrRoomExists is returned by CreateRoom for an id in use.
var ErrRoomExists = errors.New("room already exists")

// ErrFull is returned when the server already runs Config.MaxRooms rooms.
var ErrFull = errors.New("server runs its maximum of rooms")

// full reports whether the server runs Config.MaxRooms rooms, and so starts
// no more.
func (g *registry) full() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.env.cfg.MaxRooms > 0 && len(g.rooms) >= g.env.cfg.MaxRooms
}

// Full reports whether the server runs Config.MaxRooms rooms, and so starts
// no more: the node's readiness says so.
func (s *Server) Full() bool { return s.rooms.full() }

// ErrShuttingDown is returned when the server no longer takes new rooms.
var ErrShuttingDown = errors.New("server is shutting down")

// get finds a running room, or nil.
func (g *registry) get(id string) *hub {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.rooms[id]
}

// getOrCreate finds a room, creating and starting it with the default rules,
// or rules if given, when there is none.
func (g *registry) getOrCreate(id string, rules *game.Rules) (h *hub, created bool, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if h := g.rooms[id]; h != nil {
		return h, false, nil
	}
	if g.closed || g.draining.Load() {
		return nil, false, ErrShuttingDown
	}
	cfg := g.env.cfg
	if cfg.MaxRooms > 0 && len(g.rooms) >= cfg.MaxRooms {
		g.env.stats.roomsRefused.Add(1)
		return nil, false, fmt.Errorf("%w (%d)", ErrFull, cfg.MaxRooms)
	}
	r := cfg.Rules
	if rules != nil {
		r = *rules
	}
	gm := cfg.NewGame(r.Mode)
	h = &hub{env: g.env, rooms: g, log: g.env.log.With().Str("room", id).Logger(),
		tickHist: timing.NewHistogram(timing.TickBuckets...)}
	if h.room, err = game.NewRoom(game.RoomConfig{
		ID: id, TickRate: cfg.TickRate, Game: gm, Rules: r,
		Seed: randomSeed(), Observer: h, OnTick: h.tickTook,
	}); err != nil {
		return nil, false, fmt.Errorf("mode %s: %w", r.Mode, err)
	}
	h.codec = newCodec(gm.Schema())
	_, h.takesMessages = gm.(game.Messenger)
	h.enc = newEncoder(h.codec)
	h.capacity = h.room.Rules().MaxPlayers
	h.phase.Store(uint32(game.PhaseWaiting))
	g.rooms[id] = h
	g.env.stats.roomsCreated.Add(1)
	h.room.Start()
	h.log.Info().Str("mode", h.room.Rules().Mode).Int("max_players", h.room.Rules().MaxPlayers).Msg("room created")
	return h, true, nil
}

// remove forgets an ended room, keeping its tick counts. It runs on the
// room's goroutine after its last tick, so those counts are final.
func (g *registry) remove(h *hub) {
	st, hs := h.room.Stats(), h.tickHist.Snapshot()
	g.mu.Lock()
	if g.rooms[h.room.ID()] == h {
		delete(g.rooms, h.room.ID())
		g.ending[h] = struct{}{}
		g.retired.retire(st, hs)
	}
	g.mu.Unlock()
}

// told forgets an ended room once its players have had the match's end.
func (g *registry) told(h *hub) {
	g.mu.Lock()
	delete(g.ending, h)
	g.mu.Unlock()
}

// list returns the running rooms.
func (g *registry) list() []*hub {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*hub, 0, len(g.rooms))
	for _, h := range g.rooms {
		out = append(out, h)
	}
	return out
}

// count is how many rooms run.
func (g *registry) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.rooms)
}

// close refuses new rooms from now on and returns the running ones and
// those still telling their players that their match ended.
func (g *registry) close() []*hub {
	g.draining.Store(true)
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closed = true
	out := make([]*hub, 0, len(g.rooms)+len(g.ending))
	for _, h := range g.rooms {
		out = append(out, h)
	}
	for h := range g.ending {
		out = append(out, h)
	}
	return out
}

// retiredTicks are the tick counts of the rooms that have ended, so the
// server's totals never go down when a room goes.
type retiredTicks struct {
	ticks, overruns, skipped uint64
	hist                     timing.Snapshot
}

// retire adds an ended room's final tick counts; registry.mu must be held.
func (t *retiredTicks) retire(st game.Stats, hs timing.Snapshot) {
	t.ticks += st.Ticks
	t.overruns += st.Overruns
	t.skipped += st.Skipped
	t.hist.Add(hs)
}

// RoomInfo is a running room as the lobby's directory shows it.
type RoomInfo struct {
	ID       string
	Mode     string
	Capacity int
	Players  int
	// Joined counts every join the room has taken, leaves included.
	Joined int
	// Spectators counts the spectators watching now; they are not Players.
	Spectators int
	Phase      game.Phase
	// BytesOut counts the bytes written to the room's clients and
	// FramesDropped the frames dropped from their queues (lagging clients),
	// since the room started.
	BytesOut      uint64
	FramesDropped uint64
}

// Rooms lists the running rooms.
func (s *Server) Rooms() []RoomInfo {
	hubs := s.rooms.list()
	out := make([]RoomInfo, 0, len(hubs))
	for _, h := range hubs {
		out = append(out, RoomInfo{
			ID: h.room.ID(), Mode: h.room.Rules().Mode, Capacity: h.capacity,
			Players: int(h.players.Load()), Joined: int(h.joined.Load()), Spectators: int(h.watchers.Load()),
			Phase:    game.Phase(h.phase.Load()),
			BytesOut: h.bytesOut.Load(), FramesDropped: h.framesDropped.Load(),
		})
	}
	return out
}

// CreateRoom starts a room with the server's default rules, or with rules if
// given, and returns its id.
func (s *Server) CreateRoom(id string, rules *game.Rules) error {
	if !validRoomID(id) {
		return fmt.Errorf("create room %q: invalid room id", id)
	}
	_, created, err := s.rooms.getOrCreate(id, rules)
	if err != nil {
		return fmt.Errorf("create room %s: %w", id, err)
	}
	if !created {
		return fmt.Errorf("create room %s: %w", id, ErrRoomExists)
	}
	return nil
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
	g := s.rooms
	g.mu.Lock()
	hubs := make([]*hub, 0, len(g.rooms))
	for _, h := range g.rooms {
		hubs = append(hubs, h)
	}
	ts := TickStats{Ticks: g.retired.ticks, Overruns: g.retired.overruns, Skipped: g.retired.skipped}
	ts.Histogram.Add(g.retired.hist)
	g.mu.Unlock()
	var recent []time.Duration
	for _, h := range hubs {
		st := h.room.Stats()
		ts.Ticks += st.Ticks
		ts.Overruns += st.Overruns
		ts.Skipped += st.Skipped
		ts.Histogram.Add(h.tickHist.Snapshot())
		recent = h.room.RecentTicks(recent)
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
	hubs := s.rooms.list()
	out := make(map[string]game.Stats, len(hubs))
	for _, h := range hubs {
		out[h.room.ID()] = h.room.Stats()
	}
	return out
}
