package lobby

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/lobby/directory"
	"github.com/tickwire/tickwire/lobby/matchmaker"
)

// House rooms are rooms a node keeps for itself rather than for players who
// asked for one: tickwire serve --demo-bots keeps one, the demo room, where
// the node's own bots play and anyone may join them.
//
// A house room is public: GET /v1/rooms lists it, and POST
// /v1/rooms/{id}/join and /spectate seat and watch it like any room. It is
// never matchmade, so the matchmaker does not backfill it: its free seats are
// for people who pick it. It is hosted by the node that opened it. Its mode
// is a house mode, known to that node's lobby only: it is not in /v1/modes,
// cannot be queued for or created through the API, and has no leaderboards,
// so nothing played in it is credited anywhere. The bots' scores would fill
// a board with the server's own players, and a person's score against them
// is a try-out, not a match result.

// houseModes are the rules of this node's house modes, by mode name.
type houseModes struct {
	mu    sync.RWMutex // guards rules
	rules map[string]game.Rules
}

func (h *houseModes) get(mode string) (game.Rules, bool) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	r, ok := h.rules[mode]
	return r, ok
}

func (h *houseModes) set(r game.Rules) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.rules == nil {
		h.rules = map[string]game.Rules{}
	}
	h.rules[r.Mode] = r
}

// ErrNotHouseRoom is returned by HouseSeat for a room of another kind.
var ErrNotHouseRoom = errors.New("not a house room of this node")

// OpenHouseRoom lists a house room with the id, hosted by this node, of
// rules.MaxPlayers seats. Joins with its tickets are admitted with rules,
// whose Mode names the house mode: 1 to 32 of a-z 0-9 _, and none of
// Config.Modes. It fails with an error wrapping directory.ErrExists when the
// id is taken (by another node's room, say), and ErrNodeDraining once the
// node drains. The room lives in the directory as any other: the node's
// heartbeats keep it while its game server runs it, and it goes when that
// room ends or CloseHouseRoom removes it.
func (l *Lobby) OpenHouseRoom(ctx context.Context, id string, rules game.Rules) (directory.Room, error) {
	switch _, lobbyMode := l.modes[rules.Mode]; {
	case !modeName.MatchString(rules.Mode):
		return directory.Room{}, fmt.Errorf("open house room %s: mode %q: a name is 1 to 32 of a-z 0-9 _", id, rules.Mode)
	case lobbyMode:
		return directory.Room{}, fmt.Errorf("open house room %s: mode %q is one of the lobby's modes", id, rules.Mode)
	case rules.MaxPlayers < 1:
		return directory.Room{}, fmt.Errorf("open house room %s: %d seats", id, rules.MaxPlayers)
	case l.draining.Load():
		return directory.Room{}, fmt.Errorf("open house room %s: %w", id, ErrNodeDraining)
	}
	l.house.set(rules)
	r := directory.Room{
		ID: id, Mode: rules.Mode, Node: l.cfg.NodeID, Address: l.cfg.Address,
		Capacity: rules.MaxPlayers, State: directory.Open, CreatedAt: l.now(),
	}
	if err := l.cfg.Directory.Create(ctx, r, l.cfg.TicketTTL); err != nil {
		return directory.Room{}, fmt.Errorf("open house room: %w", err)
	}
	l.placedMu.Lock()
	l.placedRooms[l.cfg.NodeID]++ // as createRoom counts it, until the next heartbeat
	l.placedMu.Unlock()
	return r, nil
}

// HouseSeat signs a join ticket for player (a player id as the API takes
// them) named name in this node's house room id, and holds the seat, as a
// POST /v1/rooms/{id}/join would; it needs no caller identity, since the
// node seats its own players. A player who asks again while its seat is
// held gets the same seat with a fresh ticket: that is how a dropped bot
// comes back.
func (l *Lobby) HouseSeat(ctx context.Context, id, player, name string) (Seat, error) {
	name, err := checkPlayer(player, name)
	if err != nil {
		return Seat{}, fmt.Errorf("house seat in %s: %w", id, err)
	}
	room, err := l.cfg.Directory.Room(ctx, id)
	if err != nil {
		return Seat{}, fmt.Errorf("house seat in %s: %w", id, err)
	}
	if _, ok := l.house.get(room.Mode); !ok || room.Node != l.cfg.NodeID {
		return Seat{}, fmt.Errorf("house seat in %s: %w", id, ErrNotHouseRoom)
	}
	if l.draining.Load() {
		return Seat{}, fmt.Errorf("house seat in %s: %w", id, ErrNodeDraining)
	}
	seats, err := l.seat(ctx, room, []matchmaker.Member{{ID: player, Name: name}}, false, nil)
	if err != nil {
		return Seat{}, err
	}
	return seats[player], nil
}

// CloseHouseRoom removes a house room from the directory at once, rather
// than when its entry runs out: the room list then never shows an ended
// demo match beside the next one. A room already gone is no error.
func (l *Lobby) CloseHouseRoom(ctx context.Context, id string) error {
	if err := l.cfg.Directory.Delete(ctx, id); err != nil && !errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("close house room: %w", err)
	}
	return nil
}
