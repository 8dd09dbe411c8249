package directory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Memory is a Directory held in this process, for a server that runs alone.
// Expired rooms and nodes are dropped when a call meets them, and by a sweep
// of everything at most once a minute on calls that change the directory.
// The zero Memory is ready to use, with the default grace.
type Memory struct {
	// Now is the clock for expiry, default CreatedAt and Seen, and the grace
	// of List's HasSpace; nil means time.Now. Set it before the first call.
	Now func() time.Time

	grace time.Duration // 0 means DefaultGrace

	mu        sync.Mutex          // guards the fields below
	rooms     map[string]*memRoom // by id, including expired ones not yet dropped
	codes     map[string]string   // upper-case code -> room id
	lists     map[string][]string // List positions of public rooms, sorted: "" holds all, a mode its own
	nodes     map[string]memNode  // by id, including expired ones not yet dropped
	nextSweep time.Time
}

type memRoom struct {
	Room
	pos     string               // List position
	expires time.Time            // gone at and after this instant
	seats   map[string]time.Time // player -> when their seat was last handed out
}

type memNode struct {
	Node
	expires time.Time
}

// memSweepEvery is how often a changing call drops every expired entry.
const memSweepEvery = time.Minute

// NewMemory returns an empty directory whose Free forgives a seat grace after
// it was handed out (0 means DefaultGrace).
func NewMemory(grace time.Duration) *Memory {
	m := &Memory{grace: grace}
	m.init()
	return m
}

var _ Directory = (*Memory)(nil)

// init makes the maps of a zero Memory. m.mu is held, or m is not shared yet.
func (m *Memory) init() {
	if m.rooms == nil {
		m.rooms = make(map[string]*memRoom)
		m.codes = make(map[string]string)
		m.lists = make(map[string][]string)
		m.nodes = make(map[string]memNode)
	}
}

func (m *Memory) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Memory) graceOr() time.Duration { return cmp.Or(m.grace, DefaultGrace) }

// Create implements Directory.
func (m *Memory) Create(_ context.Context, r Room, ttl time.Duration) error {
	now := m.now()
	if err := prepare(&r, ttl, now); err != nil {
		return fmt.Errorf("create room: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.sweep(now)
	if m.live(r.ID, now) != nil {
		return fmt.Errorf("create room %s: %w", r.ID, ErrExists)
	}
	if r.Code != "" {
		if id, ok := m.codes[r.Code]; ok && m.live(id, now) != nil {
			return fmt.Errorf("create room %s: code %s: %w", r.ID, r.Code, ErrCodeTaken)
		}
		m.codes[r.Code] = r.ID
	}
	mr := &memRoom{Room: r, pos: position(r.CreatedAt, r.ID), expires: now.Add(ttl)}
	m.rooms[r.ID] = mr
	if !r.Private {
		for _, k := range [...]string{"", r.Mode} {
			l := m.lists[k]
			i, _ := slices.BinarySearch(l, mr.pos)
			m.lists[k] = slices.Insert(l, i, mr.pos)
		}
	}
	return nil
}

// live returns the room with the id unless it is missing or expired; an
// expired room is dropped. m.mu is held.
func (m *Memory) live(id string, now time.Time) *memRoom {
	r := m.rooms[id]
	if r != nil && !now.Before(r.expires) {
		m.drop(r)
		return nil
	}
	return r
}

// drop removes a room with its code and list entries. m.mu is held.
func (m *Memory) drop(r *memRoom) {
	delete(m.rooms, r.ID)
	if r.Code != "" && m.codes[r.Code] == r.ID {
		delete(m.codes, r.Code)
	}
	if r.Private {
		return
	}
	for _, k := range [...]string{"", r.Mode} {
		l := m.lists[k]
		if i, ok := slices.BinarySearch(l, r.pos); ok {
			l = slices.Delete(l, i, i+1)
		}
		if len(l) == 0 {
			delete(m.lists, k)
		} else {
			m.lists[k] = l
		}
	}
}

// sweep drops every expired room and node, at most once per memSweepEvery. m.mu
// is held.
func (m *Memory) sweep(now time.Time) {
	if now.Before(m.nextSweep) {
		return
	}
	m.nextSweep = now.Add(memSweepEvery)
	for _, r := range m.rooms {
		if !now.Before(r.expires) {
			m.drop(r)
		}
	}
	for id, n := range m.nodes {
		if !now.Before(n.expires) {
			delete(m.nodes, id)
		}
	}
}

// Room implements Directory.
func (m *Memory) Room(_ context.Context, id string) (Room, error) {
	if !validID(id) {
		return Room{}, fmt.Errorf("room: %w", invalid("room id %q", id))
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	r := m.live(id, now)
	if r == nil {
		return Room{}, fmt.Errorf("room %s: %w", id, ErrNotFound)
	}
	return r.Room, nil
}

// RoomByCode implements Directory.
func (m *Memory) RoomByCode(_ context.Context, code string) (Room, error) {
	if !validCode(code) {
		return Room{}, fmt.Errorf("room by code: %w", invalid("code %q", code))
	}
	code = upper(code)
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	if id, ok := m.codes[code]; ok {
		if r := m.live(id, now); r != nil {
			return r.Room, nil
		}
	}
	return Room{}, fmt.Errorf("room with code %s: %w", code, ErrNotFound)
}

// List implements Directory. It walks the mode's list, or the list of all
// public rooms, from the cursor, and returns a full page unless the list ends.
func (m *Memory) List(_ context.Context, f Filter, cursor string, limit int) ([]Room, string, error) {
	if err := checkList(f, limit); err != nil {
		return nil, "", fmt.Errorf("list rooms: %w", err)
	}
	var after string
	if cursor != "" {
		var err error
		if after, err = decodeCursor(cursor); err != nil {
			return nil, "", fmt.Errorf("list rooms: cursor %q: %w", cursor, err)
		}
	}
	now, grace := m.now(), m.graceOr()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	l := m.lists[f.Mode]
	i := 0
	if after != "" {
		var found bool
		if i, found = slices.BinarySearch(l, after); found {
			i++
		}
	}
	var out []Room
	var dead []*memRoom
	next := ""
	for ; i < len(l); i++ {
		r := m.rooms[l[i][tsDigits:]]
		if !now.Before(r.expires) {
			dead = append(dead, r)
			continue
		}
		if !f.match(&r.Room, now, grace) {
			continue
		}
		if len(out) == limit {
			next = encodeCursor(position(out[limit-1].CreatedAt, out[limit-1].ID))
			break
		}
		out = append(out, r.Room)
	}
	for _, r := range dead {
		m.drop(r)
	}
	return out, next, nil
}

// Assign implements Directory.
func (m *Memory) Assign(_ context.Context, id string, players []string, at time.Time) error {
	players, err := checkAssign(id, players)
	if err != nil {
		return fmt.Errorf("assign seats: %w", err)
	}
	now, grace := m.now(), m.graceOr()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	r := m.live(id, now)
	if r == nil {
		return fmt.Errorf("assign seats in room %s: %w", id, ErrNotFound)
	}
	seats := 0 // players without a seat held for them
	for _, p := range players {
		if !held(r.seats[p], at, grace) {
			seats++
		}
	}
	if free := r.Free(at, grace); seats > free {
		return fmt.Errorf("assign seats in room %s: %d wanted, %d free: %w", id, seats, free, ErrNoSpace)
	}
	r.Assigned = r.Joined + r.Pending(at, grace) + seats
	r.LastAssign = at.UTC()
	if r.seats == nil {
		r.seats = make(map[string]time.Time)
	}
	for p, since := range r.seats {
		if !held(since, at, grace) {
			delete(r.seats, p)
		}
	}
	for _, p := range players {
		r.seats[p] = r.LastAssign
	}
	return nil
}

// ReportRooms implements Directory.
func (m *Memory) ReportRooms(_ context.Context, node string, reports []RoomReport, ttl time.Duration) error {
	if err := checkReports(node, reports, ttl); err != nil {
		return fmt.Errorf("report rooms: %w", err)
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.sweep(now)
	for _, rep := range reports {
		r := m.live(rep.ID, now)
		if r == nil || r.Node != node {
			continue
		}
		if rep.State == Ended {
			m.drop(r)
			continue
		}
		r.Players, r.Joined, r.State = rep.Players, rep.Joined, rep.State
		r.expires = now.Add(ttl)
	}
	return nil
}

// Delete implements Directory.
func (m *Memory) Delete(_ context.Context, id string) error {
	if !validID(id) {
		return fmt.Errorf("delete room: %w", invalid("room id %q", id))
	}
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	r := m.live(id, now)
	if r == nil {
		return fmt.Errorf("delete room %s: %w", id, ErrNotFound)
	}
	m.drop(r)
	return nil
}

// Heartbeat implements Directory.
func (m *Memory) Heartbeat(_ context.Context, n Node, ttl time.Duration) error {
	now := m.now()
	if err := checkNode(&n, ttl, now); err != nil {
		return fmt.Errorf("node heartbeat: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.sweep(now)
	m.nodes[n.ID] = memNode{Node: n, expires: now.Add(ttl)}
	return nil
}

// Nodes implements Directory.
func (m *Memory) Nodes(context.Context) ([]Node, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	out := make([]Node, 0, len(m.nodes))
	for id, n := range m.nodes {
		if !now.Before(n.expires) {
			delete(m.nodes, id)
			continue
		}
		out = append(out, n.Node)
	}
	slices.SortFunc(out, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}
