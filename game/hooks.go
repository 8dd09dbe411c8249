package game

import (
	"errors"
	"fmt"
)

// Refusal is a game's answer to a join it refuses. The client gets it as a
// JOIN_REFUSED error whose reason is Code and whose message is Message.
type Refusal struct {
	// Code is stable, for programs: a short snake_case word the game defines
	// ("team_full", "rating_too_low").
	Code string
	// Message is for the player.
	Message string
}

func (r *Refusal) Error() string { return fmt.Sprintf("join refused: %s: %s", r.Code, r.Message) }

// JoinRequest is a player asking for a seat.
type JoinRequest struct {
	Name string
	// Account is the lobby's player id; empty for open-room players.
	Account string
	// Party and Rating are what the lobby's join ticket says of the
	// matchmaking request the player came with: its ticket id, shared by
	// every member of a party, and its rating. Empty for open-room players
	// and seats taken by room code.
	Party  string
	Rating float64
	// Team and Attributes are what that request said of this member: a team
	// the client asked for, and attributes the game defines (a class, a
	// loadout), both as strings the game reads and checks itself. The lobby
	// bounds them (PROTOCOL.md, "Ticket metadata") but does not interpret
	// them. Empty or nil where Party is. Attributes is the game's to keep;
	// nothing else holds it.
	Team       string
	Attributes map[string]string
}

// Admitter is implemented by a Game that decides who may take a seat.
// AdmitPlayer runs on the room goroutine before the player is seated, after
// the room's own checks (seats, match ended, already seated); a non-nil
// Refusal refuses the join and nothing of the player enters the world.
type Admitter interface {
	AdmitPlayer(w *World, j JoinRequest) *Refusal
}

// Holder is implemented by a Game that wants to know when a player's
// connection drops and its seat is held for a rejoin (PlayerHeld, after the
// neutral input), and when the player comes back (PlayerBack). A player that
// leaves, or whose hold runs out, goes through Game.RemovePlayer as always.
type Holder interface {
	PlayerHeld(w *World, p *Player)
	PlayerBack(w *World, p *Player)
}

// Message is a game message from a player: an op code the game defines and
// its bytes (typically the game's own protobuf). The game owns Data.
type Message struct {
	Op   uint32
	Data []byte
}

// PlayerMessage is a message addressed from a player.
type PlayerMessage struct {
	Player PlayerID
	Message
}

// Messenger is implemented by a Game that takes game messages. The room
// delivers each player's messages to HandleMessage in the order they
// arrived, at the start of the next tick, after that tick's inputs and
// before Step; messages of a player whose seat is held are dropped.
type Messenger interface {
	HandleMessage(w *World, p *Player, m Message)
}

// ChatLine is one line of room chat, as every player sees it.
type ChatLine struct {
	Player PlayerID
	Name   string
	Text   string
}

// Chatter is implemented by a Game that moderates room chat. Chat runs on
// the room goroutine for each line, already cleaned and rate-limited by the
// server, before anyone sees it; it returns the line to send (the same, or
// rewritten) and false to drop it.
type Chatter interface {
	Chat(w *World, p *Player, text string) (string, bool)
}

// Chat returns the chat lines of this tick, in order, for the room's
// observer; callers must not modify it.
func (w *World) Chat() []ChatLine { return w.chat }

// Event is a game message from the game to some players: To lists them,
// and an empty To means every player in the room.
type Event struct {
	To []PlayerID
	Message
}

// The limits on what a game sends in one tick, so that no game builds frames
// its clients refuse or that crowd out the state: each event's Data, the
// events of one tick, and all their Data together.
const (
	MaxEventSize      = 16 << 10
	MaxTickEvents     = 256
	MaxTickEventBytes = 256 << 10
)

// ErrEvent is what [World.Send] wraps when it refuses an event.
var ErrEvent = errors.New("event refused")

// Send sends a game message to the given players, or to every player when
// none is given. Events go out with this tick's frame, after it, in the order
// they were sent; a client that has fallen behind and is caught up later
// does not get the events of the frames it missed (keep in the state what
// must survive a resync). The game must not change Data afterwards. Send
// refuses, with an error wrapping [ErrEvent] and nothing sent, op 0 (op codes
// start at 1) and an event over the limits above.
func (w *World) Send(m Message, to ...PlayerID) error {
	switch {
	case m.Op == 0:
		return fmt.Errorf("send event: op 0 is reserved (op codes start at 1): %w", ErrEvent)
	case len(m.Data) > MaxEventSize:
		return fmt.Errorf("send event op %d: %d bytes, over MaxEventSize (%d): %w", m.Op, len(m.Data), MaxEventSize, ErrEvent)
	case len(w.events) >= MaxTickEvents:
		return fmt.Errorf("send event op %d: tick %d already sent MaxTickEvents (%d): %w", m.Op, w.tick, MaxTickEvents, ErrEvent)
	case w.eventBytes+len(m.Data) > MaxTickEventBytes:
		return fmt.Errorf("send event op %d: tick %d's events would carry over MaxTickEventBytes (%d): %w", m.Op, w.tick, MaxTickEventBytes, ErrEvent)
	}
	w.events = append(w.events, Event{To: to, Message: m})
	w.eventBytes += len(m.Data)
	return nil
}

// Events returns the events sent during this tick, in order, for the room's
// observer; callers must not modify it.
func (w *World) Events() []Event { return w.events }

// EndMatch ends the match at the end of this tick with the game's own
// reason: a stable code for programs ("last_team_standing", "board_full").
// The result's standings rank the players by score, so set the scores
// first. It does nothing unless the match is running; a second call keeps
// the first reason.
func (w *World) EndMatch(reason string) {
	if w.phase == PhaseRunning && w.endReason == "" {
		w.endReason = reason
		if w.endReason == "" {
			w.endReason = "game"
		}
	}
}

// SetScore sets a player's score. Like AddScore it does nothing unless the
// match is running.
func (w *World) SetScore(id PlayerID, score int64) {
	if w.phase != PhaseRunning {
		return
	}
	if p := w.Player(id); p != nil {
		p.Score = score
	}
}
