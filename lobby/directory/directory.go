package directory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
)

// State is a room's place in its life, as the lobby and its node see it.
type State string

// Room states. The lobby creates a room Open; its node then reports it
// Waiting, Running and finally Ended, which removes it from the directory.
const (
	Open    State = "open"    // created by the lobby, nobody joined yet
	Waiting State = "waiting" // on its node, waiting for players
	Running State = "running" // the match is on
	Ended   State = "ended"   // over; reporting it removes the room
)

// valid reports whether s is one of the four states.
func (s State) valid() bool {
	switch s {
	case Open, Waiting, Running, Ended:
		return true
	}
	return false
}

// Room is a room as the directory knows it: where it runs, how full it is and
// how to join it. The fields tagged "-" are the lobby's bookkeeping and are
// never shown to players.
type Room struct {
	ID      string `json:"room_id"`
	Mode    string `json:"mode"`
	Node    string `json:"node"`    // id of the hosting node
	Address string `json:"address"` // ws base URL of that node, e.g. ws://127.0.0.1:7350
	// Capacity is the number of seats, 1 to 1024.
	Capacity int `json:"capacity"`
	// Players is the number of players in the room as its node last reported.
	Players int   `json:"players"`
	State   State `json:"state"`
	// Private rooms are never listed; they are joined by Code.
	Private bool `json:"private"`
	// Code is the short join code of a private room, unique among live rooms
	// and compared case-insensitively; the directory keeps it upper case.
	// A public room may have one too.
	Code string `json:"-"`
	// Matchmade rooms were created by the matchmaker and may be backfilled.
	Matchmade bool `json:"matchmade"`
	// Rating is the average rating of a matchmade room's players.
	Rating float64 `json:"rating"`
	// Joined is the total number of joins the node has seen, as reported.
	Joined int `json:"-"`
	// Assigned counts the seats the lobby handed out join tickets for (see
	// Directory.Assign for how no-shows are forgiven).
	Assigned int `json:"-"`
	// LastAssign is when seats were last handed out.
	LastAssign time.Time `json:"-"`
	// CreatedAt orders List; Create sets it to the directory's clock if zero.
	CreatedAt time.Time `json:"created_at"`
}

// Pending is the number of seats handed out whose players have not arrived
// yet: Assigned-Joined, but never below zero, and zero once grace has passed
// since LastAssign (the no-shows are forgiven).
func (r Room) Pending(now time.Time, grace time.Duration) int {
	if r.Assigned <= r.Joined || now.Sub(r.LastAssign) >= grace {
		return 0
	}
	return r.Assigned - r.Joined
}

// Free is the number of seats that may still be handed out:
// Capacity - Players - Pending, but never below zero.
func (r Room) Free(now time.Time, grace time.Duration) int {
	return max(0, r.Capacity-r.Players-r.Pending(now, grace))
}

// RoomReport is what a node says about one of its rooms in a heartbeat.
type RoomReport struct {
	ID      string
	Players int
	Joined  int // total joins the room has taken, leaves included
	State   State
}

// Filter selects rooms for List. Its zero value selects every public room.
type Filter struct {
	Mode     string // "" means any
	State    State  // "" means any
	HasSpace bool   // only rooms with Free > 0 now, with the directory's grace
	// Matchmade, if not nil, selects matchmade rooms (true) or the others.
	Matchmade *bool
}

// Node is a server process that hosts rooms.
type Node struct {
	ID      string    `json:"id"`
	Address string    `json:"address"` // ws base URL, e.g. ws://127.0.0.1:7350
	Rooms   int       `json:"rooms"`
	Players int       `json:"players"`
	Seen    time.Time `json:"seen"` // last heartbeat; Heartbeat sets it to the directory's clock if zero
	// Draining nodes are shutting down: their running matches play on, but
	// they take no new rooms or players.
	Draining bool `json:"draining,omitempty"`
	// MaxRooms is how many rooms the node runs at most (0: no limit): one
	// with Rooms >= MaxRooms takes no new rooms.
	MaxRooms int `json:"max_rooms,omitempty"`
}

// Full reports whether the node runs as many rooms as it may.
func (n Node) Full() bool { return n.MaxRooms > 0 && n.Rooms >= n.MaxRooms }

// Directory is the lobby's list of rooms and nodes. Rooms and nodes live for
// a time to live and vanish unless refreshed, so a node that dies takes its
// rooms with it. Implementations are safe for concurrent use, and so are
// several processes sharing one Redis.
type Directory interface {
	// Create adds a room that lives for ttl unless refreshed by ReportRooms.
	// It fails with ErrExists for an id in use and ErrCodeTaken when r.Code
	// belongs to another live room (the caller retries with a new code). A
	// private room must have a code.
	Create(ctx context.Context, r Room, ttl time.Duration) error
	// Room returns the room with the id, or ErrNotFound.
	Room(ctx context.Context, id string) (Room, error)
	// RoomByCode returns the live room with the join code, compared
	// case-insensitively, or ErrNotFound.
	RoomByCode(ctx context.Context, code string) (Room, error)
	// List returns public rooms matching f, oldest first (by CreatedAt, then
	// id), at most limit (1 to 100) of them, and the cursor of the next page.
	// The cursor "" starts at the beginning; next is "" once the end is
	// reached. A page may hold fewer than limit rooms, even none, while next
	// is not "": keep following it. Paging is stable under concurrent
	// changes: a room present from the first page to the last is returned
	// exactly once. A malformed cursor is ErrBadCursor.
	List(ctx context.Context, f Filter, cursor string, limit int) (rooms []Room, next string, err error)
	// Assign records that seats were handed out to players in the room at
	// time at. A player is held to one seat per room: one whose seat was
	// handed out less than the grace before at keeps it (a renewal) and
	// needs no new one, so asking again never takes a second seat. Assign
	// refuses with ErrNoSpace, changing nothing, if the players needing a
	// new seat outnumber Free(at). The check and the update are one atomic
	// step, so concurrent assigners never overfill a room. Assigned becomes
	// Joined + Pending(at) + new seats: a plain increment while earlier
	// seats are pending, but no-shows past the grace, and joins beyond
	// Assigned, are not held against new seats. LastAssign, and the time of
	// every player's seat, become at. ErrNotFound for an unknown room.
	Assign(ctx context.Context, id string, players []string, at time.Time) error
	// ReportRooms is a node's heartbeat for its rooms: it sets Players,
	// Joined and State of each reported room the node hosts and extends its
	// life to ttl. Rooms reported Ended are removed. Reports for unknown
	// rooms, or rooms of another node, are ignored: only the lobby creates
	// rooms.
	ReportRooms(ctx context.Context, node string, reports []RoomReport, ttl time.Duration) error
	// Delete removes a room and frees its code. ErrNotFound for an unknown room.
	Delete(ctx context.Context, id string) error
	// Heartbeat adds or replaces the node, which lives for ttl.
	Heartbeat(ctx context.Context, n Node, ttl time.Duration) error
	// Nodes returns the live nodes, sorted by id.
	Nodes(ctx context.Context) ([]Node, error)
}

// Errors, to compare with errors.Is; the returned errors wrap them with context.
var (
	ErrNotFound  = errors.New("not found")
	ErrExists    = errors.New("room id already in use")
	ErrCodeTaken = errors.New("join code already in use")
	ErrNoSpace   = errors.New("not enough free seats")
	ErrBadCursor = errors.New("malformed cursor")
	ErrInvalid   = errors.New("invalid argument")
)

// Defaults for the constructors' zero arguments.
const (
	DefaultGrace  = 30 * time.Second
	DefaultPrefix = "tickwire:"
)

// MaxLimit is the largest page List returns.
const MaxLimit = 100

// Bounds on what the directory accepts.
const (
	maxCapacity = 1024
	maxIDLen    = 64
	minCodeLen  = 4
	maxCodeLen  = 12
	maxAddrLen  = 512
)

// validID reports whether s is 1 to 64 characters of [A-Za-z0-9._:-]. Room,
// node and mode names follow it, as they become parts of Redis keys.
func validID(s string) bool {
	if len(s) == 0 || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlnum(c) && c != '.' && c != '_' && c != ':' && c != '-' {
			return false
		}
	}
	return true
}

// validCode reports whether s is 4 to 12 characters of [A-Za-z0-9].
func validCode(s string) bool {
	if len(s) < minCodeLen || len(s) > maxCodeLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// upper turns a valid code to upper case; codes are ASCII.
func upper(code string) string {
	b := []byte(code)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// Times the directory can order: UnixNano is defined from 1970 to 2262.
var (
	minTime = time.Unix(0, 0)
	maxTime = time.Unix(0, math.MaxInt64)
)

// prepare validates a room for Create and fills its defaults: State Open,
// CreatedAt now, the code in upper case and times in UTC.
func prepare(r *Room, ttl time.Duration, now time.Time) error {
	if r.State == "" {
		r.State = Open
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	r.CreatedAt = r.CreatedAt.UTC()
	if !r.LastAssign.IsZero() {
		r.LastAssign = r.LastAssign.UTC()
	}
	r.Code = upper(r.Code)
	switch {
	case !validID(r.ID):
		return invalid("room id %q: want 1 to 64 of A-Z a-z 0-9 . _ : -", r.ID)
	case !validID(r.Mode):
		return invalid("room %s: mode %q: want 1 to 64 of A-Z a-z 0-9 . _ : -", r.ID, r.Mode)
	case !validID(r.Node):
		return invalid("room %s: node %q: want 1 to 64 of A-Z a-z 0-9 . _ : -", r.ID, r.Node)
	case r.Address == "" || len(r.Address) > maxAddrLen || strings.ContainsFunc(r.Address, unicode.IsControl):
		return invalid("room %s: address: want 1 to %d bytes, no control characters", r.ID, maxAddrLen)
	case r.Capacity < 1 || r.Capacity > maxCapacity:
		return invalid("room %s: capacity %d: want 1 to %d", r.ID, r.Capacity, maxCapacity)
	case r.Players < 0 || r.Joined < 0 || r.Assigned < 0:
		return invalid("room %s: negative players, joined or assigned", r.ID)
	case !r.State.valid() || r.State == Ended:
		return invalid("room %s: state %q: want open, waiting or running", r.ID, r.State)
	case r.Private && r.Code == "":
		return invalid("room %s: a private room needs a join code", r.ID)
	case r.Code != "" && !validCode(r.Code):
		return invalid("room %s: code %q: want 4 to 12 of A-Z a-z 0-9", r.ID, r.Code)
	case math.IsNaN(r.Rating) || math.IsInf(r.Rating, 0):
		return invalid("room %s: rating %v", r.ID, r.Rating)
	case r.CreatedAt.Before(minTime) || r.CreatedAt.After(maxTime):
		return invalid("room %s: created_at %v: want 1970 to 2262", r.ID, r.CreatedAt)
	}
	return checkTTL(ttl)
}

func checkTTL(ttl time.Duration) error {
	if ttl < time.Millisecond {
		return invalid("ttl %v: want at least 1ms", ttl)
	}
	return nil
}

func checkReports(node string, reports []RoomReport, ttl time.Duration) error {
	if !validID(node) {
		return invalid("node id %q: want 1 to 64 of A-Z a-z 0-9 . _ : -", node)
	}
	for _, rep := range reports {
		switch {
		case !validID(rep.ID):
			return invalid("report: room id %q", rep.ID)
		case rep.Players < 0 || rep.Joined < 0:
			return invalid("report for room %s: negative players or joined", rep.ID)
		case !rep.State.valid():
			return invalid("report for room %s: state %q", rep.ID, rep.State)
		}
	}
	return checkTTL(ttl)
}

func checkNode(n *Node, ttl time.Duration, now time.Time) error {
	if n.Seen.IsZero() {
		n.Seen = now
	}
	n.Seen = n.Seen.UTC()
	switch {
	case !validID(n.ID):
		return invalid("node id %q: want 1 to 64 of A-Z a-z 0-9 . _ : -", n.ID)
	case len(n.Address) > maxAddrLen:
		return invalid("node %s: address longer than %d bytes", n.ID, maxAddrLen)
	case n.Rooms < 0 || n.Players < 0 || n.MaxRooms < 0:
		return invalid("node %s: negative rooms, players or max rooms", n.ID)
	}
	return checkTTL(ttl)
}

// maxPlayerLen bounds a player id that Assign holds a seat for.
const maxPlayerLen = 128

// checkAssign validates Assign's arguments and returns the players without
// repeats.
func checkAssign(id string, players []string) ([]string, error) {
	if !validID(id) {
		return nil, invalid("room id %q", id)
	}
	if len(players) == 0 {
		return nil, invalid("assign no seats in room %s: want at least 1 player", id)
	}
	if len(players) > maxCapacity {
		return nil, invalid("assign %d seats in room %s: at most %d", len(players), id, maxCapacity)
	}
	out := make([]string, 0, len(players))
	for _, p := range players {
		if p == "" || len(p) > maxPlayerLen || strings.ContainsFunc(p, unicode.IsControl) {
			return nil, invalid("room %s: player id %q: want 1 to %d bytes, no control characters", id, p, maxPlayerLen)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

// held reports whether a seat handed out at since is still the player's at
// at: the grace has not passed.
func held(since, at time.Time, grace time.Duration) bool {
	return !since.IsZero() && at.Sub(since) < grace
}

func checkList(f Filter, limit int) error {
	switch {
	case limit < 1 || limit > MaxLimit:
		return invalid("limit %d: want 1 to %d", limit, MaxLimit)
	case f.Mode != "" && !validID(f.Mode):
		return invalid("mode %q", f.Mode)
	case f.State != "" && !f.State.valid():
		return invalid("state %q: want open, waiting, running or ended", f.State)
	}
	return nil
}

// match reports whether the public room r passes f at now.
func (f Filter) match(r *Room, now time.Time, grace time.Duration) bool {
	return (f.Mode == "" || r.Mode == f.Mode) &&
		(f.State == "" || r.State == f.State) &&
		(f.Matchmade == nil || r.Matchmade == *f.Matchmade) &&
		(!f.HasSpace || r.Free(now, grace) > 0)
}

// postFilter reports whether f selects on something that changes while a room
// lives, which no index can answer, so List must read rooms to filter them.
func (f Filter) postFilter() bool { return f.State != "" || f.HasSpace }

// invalid returns an ErrInvalid with the message.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
