package game

import (
	"cmp"
	"errors"
	"slices"
)

// Phase is a match's place in its lifecycle: waiting, then running, then ended.
type Phase uint8

// Match phases.
const (
	PhaseWaiting Phase = iota + 1
	PhaseRunning
	PhaseEnded
)

func (p Phase) String() string {
	switch p {
	case PhaseWaiting:
		return "waiting"
	case PhaseRunning:
		return "running"
	case PhaseEnded:
		return "ended"
	}
	return "unknown"
}

// EndReason says why a match ended.
type EndReason uint8

// Reasons a match ends.
const (
	EndTimeLimit EndReason = iota + 1
	EndScoreLimit
	// EndAbandoned: every player left a running match.
	EndAbandoned
	// EndShutdown: the room was stopped from outside, e.g. by a server drain.
	EndShutdown
	// EndGame: the game ended the match itself (World.EndMatch); the
	// result's Detail is its reason.
	EndGame
)

func (r EndReason) String() string {
	switch r {
	case EndTimeLimit:
		return "time_limit"
	case EndScoreLimit:
		return "score_limit"
	case EndAbandoned:
		return "abandoned"
	case EndShutdown:
		return "shutdown"
	case EndGame:
		return "game"
	}
	return "unknown"
}

// Errors a join can fail with.
var (
	ErrRoomFull    = errors.New("room is full")
	ErrMatchEnded  = errors.New("match has ended")
	ErrRoomStopped = errors.New("room is stopped")
	// ErrAlreadySeated: the account already has a seat in this room.
	ErrAlreadySeated = errors.New("player already has a seat in this room")
	// ErrPlayerGone: the player to reconnect is no longer in the room (it
	// left, or its held seat expired).
	ErrPlayerGone = errors.New("player is no longer in the room")
)

// Rules are a match's limits. The zero value is an endless match for up to 16
// players that starts with the first one.
type Rules struct {
	// Mode names the game mode, for the lobby and clients. Default "arena".
	Mode string
	// MaxPlayers is the number of seats. Default 16.
	MaxPlayers int
	// MinPlayers is how many players must join before the match runs. Default 1.
	MinPlayers int
	// DurationTicks is the length of the running phase; 0 means no time limit.
	DurationTicks uint64
	// ScoreLimit ends the match when a player reaches it; 0 means no limit.
	ScoreLimit int64
	// StartAfterTicks starts the match with fewer than MinPlayers once someone
	// has waited this many ticks; 0 waits for MinPlayers however long it takes.
	StartAfterTicks uint64
}

func (r Rules) withDefaults() Rules {
	if r.Mode == "" {
		r.Mode = "arena"
	}
	if r.MaxPlayers <= 0 {
		r.MaxPlayers = 16
	}
	if r.MinPlayers <= 0 {
		r.MinPlayers = 1
	}
	r.MinPlayers = min(r.MinPlayers, r.MaxPlayers)
	return r
}

// Game is the set of rules a game developer plugs into a room. Every method runs
// on the room's goroutine, so a Game needs no locks. To stay deterministic a Game
// draws randomness only from World.Rand and iterates only ordered data.
//
// A Game may also implement Admitter (to refuse joins) and Holder (to hear of
// held seats), and may end its own match with World.EndMatch.
type Game interface {
	// Schema declares what the game's state is made of. The room calls it
	// once, before Setup, and validates it: a bad schema fails the room's
	// start with an error that names the field.
	Schema() *Schema
	// Setup populates the world once, before the first tick.
	Setup(w *World)
	// AddPlayer places a joining player and returns the entity it controls.
	AddPlayer(w *World, p *Player) EntityID
	// RemovePlayer clears a leaving player's entities.
	RemovePlayer(w *World, p *Player)
	// ApplyInput applies one input. The room calls it at the start of a tick, per
	// player in sequence order, only for inputs newer than the player's LastSeq.
	// When a player disconnects (Sim.Disconnect) it is called once more with a
	// neutral input, zero but for Seq == LastSeq, so a held seat's entity stops.
	// Every value is within its declared range (an enum's index, an angle's
	// bits, a boolean's 0 or 1): the server refuses inputs that are not.
	ApplyInput(w *World, p *Player, in Input)
	// Step advances the world by one tick.
	Step(w *World)
}

// PlayerInput is an input addressed to a player.
type PlayerInput struct {
	Player PlayerID
	Input
}

// Standing is one player's place in a match result.
type Standing struct {
	Player  PlayerID
	Name    string
	Account string
	Score   int64
	// Rank is 1-based; equal scores share a rank.
	Rank int
}

// Result is how a match ended.
type Result struct {
	Tick   uint64
	Reason EndReason
	// Detail is the game's own reason when Reason is EndGame.
	Detail    string
	Standings []Standing
}

// Sim is the deterministic core of a room: a World, its Game and the match
// lifecycle. Given the same game, seed, joins and inputs at the same ticks, two
// Sims reach the same state. A Sim is not safe for concurrent use.
type Sim struct {
	world      *World
	game       Game
	rules      Rules
	endTick    uint64
	nextPlayer PlayerID
	result     *Result
	waitFrom   uint64 // first tick a player waited in; 0 while nobody has
	held       int    // players disconnected and waiting for a rejoin
}

// NewSim sets up a world with the given game, rules and seed. It fails when
// the game's schema does not validate (the error names the field; it wraps
// ErrSchema).
func NewSim(g Game, rules Rules, seed uint64) (*Sim, error) {
	schema := g.Schema()
	if err := schema.Validate(); err != nil {
		return nil, err
	}
	s := &Sim{world: newWorld(schema, seed), game: g, rules: rules.withDefaults(), nextPlayer: 1}
	s.world.phase = PhaseWaiting
	g.Setup(s.world)
	return s, nil
}

// World is the simulated state; see World for who may touch it.
func (s *Sim) World() *World { return s.world }

// Rules are the match rules in force, defaults applied.
func (s *Sim) Rules() Rules { return s.rules }

// EndTick is the tick at which a running match ends by time, or 0.
func (s *Sim) EndTick() uint64 { return s.endTick }

// Result is the match result once ended, or nil.
func (s *Sim) Result() *Result { return s.result }

// AddPlayer seats a new player with no account.
func (s *Sim) AddPlayer(name string) (*Player, error) { return s.AddPlayerAs(name, "") }

// AddPlayerAs seats a new player who belongs to an account (the lobby's player
// id), so results can be credited to it.
func (s *Sim) AddPlayerAs(name, account string) (*Player, error) {
	return s.Join(JoinRequest{Name: name, Account: account})
}

// Join seats a new player with what its join ticket says of it (account,
// party, rating). The game's Admitter, if any, may refuse it.
func (s *Sim) Join(j JoinRequest) (*Player, error) {
	name, account := j.Name, j.Account
	switch {
	case s.world.phase == PhaseEnded:
		return nil, ErrMatchEnded
	case len(s.world.players) >= s.rules.MaxPlayers:
		return nil, ErrRoomFull
	}
	if account != "" {
		for _, p := range s.world.players {
			if p.Account == account {
				return nil, ErrAlreadySeated
			}
		}
	}
	if a, ok := s.game.(Admitter); ok {
		if r := a.AdmitPlayer(s.world, j); r != nil {
			return nil, r
		}
	}
	p := &Player{Values: newValues(&s.world.schema.Player), ID: s.nextPlayer, Name: name, Account: account, Party: j.Party, Rating: j.Rating, Team: j.Team, Attributes: j.Attributes}
	s.nextPlayer++
	s.world.addPlayer(p)
	p.Entity = s.game.AddPlayer(s.world, p)
	return p, nil
}

// RemovePlayer takes a player out of the room; an unknown ID does nothing.
func (s *Sim) RemovePlayer(id PlayerID) {
	if p := s.world.removePlayer(id); p != nil {
		if p.Disconnected {
			s.held--
		}
		s.game.RemovePlayer(s.world, p)
	}
}

// Disconnect holds the seat of a player whose connection dropped, for hold
// ticks from the current tick: the player keeps its entity and score and still
// takes a seat (a running match with only held seats goes on), but its inputs
// are ignored and its entity gets a neutral input, so it stops. Unless
// Reconnect runs first, the player is removed by the first Advance at or after
// that tick. It reports false for an unknown player.
func (s *Sim) Disconnect(id PlayerID, hold uint64) bool {
	p := s.world.Player(id)
	if p == nil {
		return false
	}
	if !p.Disconnected {
		p.Disconnected = true
		s.held++
		s.game.ApplyInput(s.world, p, Input{Seq: p.LastSeq})
		if h, ok := s.game.(Holder); ok {
			h.PlayerHeld(s.world, p)
		}
	}
	p.heldUntil = s.world.tick + hold
	return true
}

// Reconnect gives a held seat back to its player, who keeps its entity, score
// and LastSeq (so inputs continue from LastSeq+1). Reconnecting a connected
// player does nothing. It fails with ErrPlayerGone when the player is no
// longer in the room and ErrMatchEnded once the match is over.
func (s *Sim) Reconnect(id PlayerID) (*Player, error) {
	if s.world.phase == PhaseEnded {
		return nil, ErrMatchEnded
	}
	p := s.world.Player(id)
	if p == nil {
		return nil, ErrPlayerGone
	}
	if p.Disconnected {
		p.Disconnected, p.heldUntil = false, 0
		s.held--
		if h, ok := s.game.(Holder); ok {
			h.PlayerBack(s.world, p)
		}
	}
	return p, nil
}

// expireHeld removes the disconnected players whose hold ran out by tick.
func (s *Sim) expireHeld(tick uint64) {
	for i := 0; s.held > 0 && i < len(s.world.players); {
		p := s.world.players[i]
		if p.Disconnected && tick >= p.heldUntil {
			s.RemovePlayer(p.ID) // shifts the next player into slot i
			continue
		}
		i++
	}
}

// Advance runs tick number tick: it applies the inputs (per player in sequence
// order, skipping stale and duplicate sequence numbers), steps the game and
// moves the match lifecycle on. It reports whether the match has ended. The
// inputs slice is sorted in place.
func (s *Sim) Advance(tick uint64, inputs []PlayerInput) (ended bool) {
	return s.AdvanceWith(tick, inputs, nil)
}

// AdvanceWith is Advance with the game messages that arrived since the last
// tick, in arrival order: they are delivered after the inputs and before the
// game steps (see Messenger).
func (s *Sim) AdvanceWith(tick uint64, inputs []PlayerInput, msgs []PlayerMessage) (ended bool) {
	w := s.world
	if w.phase == PhaseEnded {
		return true
	}
	// The last tick's events were the observer's to read; a Sim driven
	// without a Room (gametest, a game's own tests) must not keep them all.
	clear(w.events)
	w.events, w.eventBytes = w.events[:0], 0
	w.tick = tick
	if s.held > 0 {
		s.expireHeld(tick)
	}
	if w.phase == PhaseWaiting && s.waitFrom == 0 && len(w.players) > 0 {
		s.waitFrom = tick
	}
	if w.phase == PhaseWaiting && (len(w.players) >= s.rules.MinPlayers || s.waitedOut(tick)) {
		w.phase = PhaseRunning
		if s.rules.DurationTicks > 0 {
			s.endTick = tick + s.rules.DurationTicks
		}
	}
	s.applyInputs(inputs)
	s.deliver(msgs)
	s.game.Step(w)
	if w.phase != PhaseRunning {
		return false
	}
	switch {
	case w.endReason != "":
		s.End(EndGame)
	case s.endTick > 0 && tick >= s.endTick:
		s.End(EndTimeLimit)
	case s.rules.ScoreLimit > 0 && s.topScore() >= s.rules.ScoreLimit:
		s.End(EndScoreLimit)
	case len(w.players) == 0:
		s.End(EndAbandoned)
	}
	return w.phase == PhaseEnded
}

func (s *Sim) waitedOut(tick uint64) bool {
	return s.rules.StartAfterTicks > 0 && s.waitFrom > 0 && len(s.world.players) > 0 && tick-s.waitFrom >= s.rules.StartAfterTicks
}

func (s *Sim) applyInputs(inputs []PlayerInput) {
	slices.SortStableFunc(inputs, func(a, b PlayerInput) int {
		if c := cmp.Compare(a.Player, b.Player); c != 0 {
			return c
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
	for i := range inputs {
		in := &inputs[i]
		p := s.world.Player(in.Player)
		if p == nil || p.Disconnected || in.Seq <= p.LastSeq {
			continue
		}
		p.LastSeq = in.Seq
		s.game.ApplyInput(s.world, p, in.Input)
	}
}

// chatLines runs the game's chat hook over queued lines and keeps the ones
// it lets through for this tick's observer.
func (s *Sim) chatLines(lines []PlayerMessage) {
	c, moderated := s.game.(Chatter)
	for i := range lines {
		p := s.world.Player(lines[i].Player)
		if p == nil {
			continue
		}
		text, ok := string(lines[i].Data), true
		if moderated {
			text, ok = c.Chat(s.world, p, text)
		}
		if ok && text != "" {
			s.world.chat = append(s.world.chat, ChatLine{Player: p.ID, Name: p.Name, Text: text})
		}
	}
}

func (s *Sim) deliver(msgs []PlayerMessage) {
	m, ok := s.game.(Messenger)
	if !ok {
		return
	}
	for i := range msgs {
		if p := s.world.Player(msgs[i].Player); p != nil && !p.Disconnected {
			m.HandleMessage(s.world, p, msgs[i].Message)
		}
	}
}

func (s *Sim) topScore() int64 {
	var top int64
	for i, p := range s.world.players {
		if i == 0 || p.Score > top {
			top = p.Score
		}
	}
	return top
}

// End ends the match now with the given reason, if it has not ended yet.
func (s *Sim) End(reason EndReason) {
	if s.world.phase == PhaseEnded {
		return
	}
	s.world.phase = PhaseEnded
	s.result = &Result{Tick: s.world.tick, Reason: reason, Standings: standings(s.world.players)}
	if reason == EndGame {
		s.result.Detail = s.world.endReason
	}
}

func standings(players []*Player) []Standing {
	out := make([]Standing, len(players))
	for i, p := range players {
		out[i] = Standing{Player: p.ID, Name: p.Name, Account: p.Account, Score: p.Score}
	}
	slices.SortStableFunc(out, func(a, b Standing) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		return cmp.Compare(a.Player, b.Player)
	})
	for i := range out {
		out[i].Rank = i + 1
		if i > 0 && out[i].Score == out[i-1].Score {
			out[i].Rank = out[i-1].Rank
		}
	}
	return out
}
