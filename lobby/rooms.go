package lobby

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/tickwire/tickwire/lobby/directory"
	"github.com/tickwire/tickwire/lobby/matchmaker"
)

// Seat is a join ticket for one player and where to use it.
type Seat struct {
	RoomID  string `json:"room_id"`
	Node    string `json:"node"`
	Address string `json:"address"`
	Ticket  string `json:"join_ticket"`
	Expires int64  `json:"expires_at"`
}

// pickNode chooses the live node with the fewest players for a new room,
// among those not draining and not full, and counts the room and its seats
// as placed on it at once: the matcher places several groups in parallel,
// and each must see the ones picked before it.
func (l *Lobby) pickNode(ctx context.Context, seats int) (directory.Node, error) {
	nodes, err := l.cfg.Directory.Nodes(ctx)
	if err != nil {
		return directory.Node{}, fmt.Errorf("list nodes: %w", err)
	}
	l.placedMu.Lock()
	defer l.placedMu.Unlock()
	if len(nodes) == 0 && !l.draining.Load() { // before the first heartbeat: this node
		nodes = []directory.Node{{ID: l.cfg.NodeID, Address: l.cfg.Address, MaxRooms: l.cfg.MaxRooms}}
	}
	nodes = slices.DeleteFunc(nodes, func(n directory.Node) bool {
		return n.Draining || (n.ID == l.cfg.NodeID && l.draining.Load())
	})
	if len(nodes) == 0 {
		return directory.Node{}, fmt.Errorf("no node takes new rooms: %w", ErrNodeDraining)
	}
	// Node reports lag by a heartbeat, so count the rooms and seats placed
	// since too: rooms matched in one pass then spread over the nodes, and a
	// burst of room creations stops at each node's limit.
	nodes = slices.DeleteFunc(nodes, func(n directory.Node) bool {
		n.Rooms += l.placedRooms[n.ID]
		return n.Full()
	})
	if len(nodes) == 0 {
		return directory.Node{}, ErrNoCapacity
	}
	load := func(n directory.Node) int { return n.Players + l.placed[n.ID] }
	best := nodes[0]
	for _, n := range nodes[1:] {
		if load(n) < load(best) || (load(n) == load(best) && n.Rooms+l.placedRooms[n.ID] < best.Rooms+l.placedRooms[best.ID]) {
			best = n
		}
	}
	l.placed[best.ID] += seats
	l.placedRooms[best.ID]++
	return best, nil
}

// ErrNoCapacity is returned for a new room when every node runs its maximum
// of rooms.
var ErrNoCapacity = errors.New("every node runs its maximum of rooms; retry shortly")

// placedSeats records seats placed on a node since its last report.
func (l *Lobby) placedSeats(node string, seats int) {
	l.placedMu.Lock()
	l.placed[node] += seats
	l.placedMu.Unlock()
}

// createRoom makes a room of mode on the least loaded node, counting seats
// there as placed.
func (l *Lobby) createRoom(ctx context.Context, mode Mode, private, matchmade bool, rating float64, seats int) (directory.Room, error) {
	node, err := l.pickNode(ctx, seats)
	if err != nil {
		return directory.Room{}, err
	}
	r := directory.Room{
		ID: "r-" + uuid.NewString(), Mode: mode.Name, Node: node.ID, Address: node.Address,
		Capacity: mode.Size, State: "open", Private: private, Matchmade: matchmade, Rating: rating,
		CreatedAt: l.now(),
	}
	for attempt := 0; ; attempt++ {
		if private {
			r.Code = directory.NewCode()
		}
		err := l.cfg.Directory.Create(ctx, r, l.cfg.TicketTTL)
		if errors.Is(err, directory.ErrCodeTaken) && attempt < 8 {
			continue
		}
		if err != nil {
			return directory.Room{}, fmt.Errorf("create room: %w", err)
		}
		return r, nil
	}
}

// seat reserves one seat per player in room and signs their tickets; counted
// says createRoom already counted them as placed. A player who asks again
// while their seat is held gets the same seat with a fresh ticket.
//
// tickets names each player's matchmaking ticket, whose id and rating (and
// the member's team and attributes) go in the player's join ticket for the
// game to read; nil for seats by room code.
func (l *Lobby) seat(ctx context.Context, room directory.Room, players []matchmaker.Member, counted bool, tickets map[string]*matchmaker.Ticket) (map[string]Seat, error) {
	now := l.now()
	ids := make([]string, len(players))
	for i, p := range players {
		ids[i] = p.ID
	}
	if err := l.cfg.Directory.Assign(ctx, room.ID, ids, now); err != nil {
		return nil, fmt.Errorf("assign seats in %s: %w", room.ID, err)
	}
	if !counted {
		l.placedSeats(room.Node, len(players))
	}
	exp := now.Add(l.cfg.TicketTTL).Unix()
	out := make(map[string]Seat, len(players))
	for _, p := range players {
		c := Claims{
			ID: uuid.NewString(), Player: p.ID, Name: p.Name, Room: room.ID,
			Mode: room.Mode, Node: room.Node, Expires: exp,
		}
		if t := tickets[p.ID]; t != nil {
			c.Party, c.Rating = t.ID, t.Rating
			c.Team, c.Attributes = p.Team, p.Attributes
		}
		tok := l.signer.Sign(c)
		if len(tok) > maxTicket {
			// createTicket measured the metadata against a node id of
			// maxProbeNode bytes; a longer one can push a ticket over.
			l.log.Error().Str("room", room.ID).Str("player", p.ID).Int("bytes", len(tok)).Int("max", maxTicket).
				Msg("join ticket too long for the node to accept: its node id is longer than the lobby measured with")
		}
		out[p.ID] = Seat{RoomID: room.ID, Node: room.Node, Address: room.Address, Ticket: tok, Expires: exp}
	}
	return out, nil
}

// place is the matchmaker's placement: a new room for a full group, or seats
// in the open room a backfill group was matched to.
func (l *Lobby) place(ctx context.Context, g matchmaker.Group) (matchmaker.Assignment, error) {
	var members []matchmaker.Member
	var rating float64
	tickets := map[string]*matchmaker.Ticket{}
	for i, t := range g.Tickets {
		members = append(members, t.Members...)
		rating += t.Rating
		for _, m := range t.Members {
			tickets[m.ID] = &g.Tickets[i]
		}
	}
	rating /= float64(max(len(g.Tickets), 1))
	var room directory.Room
	var err error
	if g.RoomID != "" {
		room, err = l.cfg.Directory.Room(ctx, g.RoomID)
	} else {
		mode, ok := l.modes[g.Tickets[0].Mode]
		if !ok {
			return matchmaker.Assignment{}, fmt.Errorf("unknown mode %q", g.Tickets[0].Mode)
		}
		room, err = l.createRoom(ctx, mode, false, true, rating, len(members))
	}
	if err != nil {
		return matchmaker.Assignment{}, err
	}
	seats, err := l.seat(ctx, room, members, g.RoomID == "", tickets)
	if err != nil {
		return matchmaker.Assignment{}, err
	}
	a := matchmaker.Assignment{RoomID: room.ID, Node: room.Node, Address: room.Address, Tickets: map[string]string{}, Backfill: g.RoomID != ""}
	for id, s := range seats {
		a.Tickets[id] = s.Ticket
	}
	return a, nil
}

// openRooms lists matchmade rooms of a mode with free seats, for backfill.
func (l *Lobby) openRooms(ctx context.Context, mode string) ([]matchmaker.OpenRoom, error) {
	yes := true
	var out []matchmaker.OpenRoom
	cursor := ""
	now := l.now()
	nodes, err := l.cfg.Directory.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}
	draining := drainingNodes(nodes)
	draining[l.cfg.NodeID] = l.draining.Load()
	for page := 0; page < 10; page++ { // enough for backfill; the rest wait a pass
		rooms, next, err := l.cfg.Directory.List(ctx, directory.Filter{Mode: mode, HasSpace: true, Matchmade: &yes}, cursor, 100)
		if err != nil {
			return nil, err
		}
		for _, r := range rooms {
			if r.State == "ended" || draining[r.Node] {
				continue
			}
			out = append(out, matchmaker.OpenRoom{RoomID: r.ID, Mode: r.Mode, Free: r.Free(now, l.cfg.TicketTTL), Rating: r.Rating})
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return out, nil
}
