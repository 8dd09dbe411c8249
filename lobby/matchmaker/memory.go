package matchmaker

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"
)

// Memory is a Queue held in this process, for a server that runs alone. Wait
// wakes on a channel, without polling. Tickets that left Queued are dropped
// Retain after they did, on a later call that changes the queue.
type Memory struct {
	// Retain is how long a ticket that left Queued stays readable. Zero means
	// DefaultRetain. Set it before the first call.
	Retain time.Duration

	now func() time.Time // the clock if not nil; tests set it before use

	mu       sync.Mutex                       // guards the fields below
	tickets  map[string]*memTicket            // every ticket still readable, by id
	queued   map[string]map[string]*memTicket // mode -> id -> ticket, Queued ones only
	players  map[string]string                // player id -> id of their Queued ticket
	finished []finishedTicket                 // tickets that left Queued, in that order, for pruning
	locks    map[string]memLock
}

type memTicket struct {
	state State
	left  chan struct{} // closed when the ticket leaves Queued
}

type finishedTicket struct {
	id string
	at time.Time
}

type memLock struct {
	owner string
	until time.Time
}

// NewMemory returns an empty in-process queue. The zero Memory is ready to
// use too.
func NewMemory() *Memory {
	m := &Memory{}
	m.init()
	return m
}

// init makes the maps of a zero Memory. m.mu is held, or m is not shared yet.
func (m *Memory) init() {
	if m.tickets == nil {
		m.tickets = make(map[string]*memTicket)
		m.queued = make(map[string]map[string]*memTicket)
		m.players = make(map[string]string)
		m.locks = make(map[string]memLock)
	}
}

func (m *Memory) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

var _ Queue = (*Memory)(nil)

// Add implements Queue.
func (m *Memory) Add(_ context.Context, t Ticket) error {
	now := m.clock()
	if err := prepare(&t, now); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.prune(now)
	if _, ok := m.tickets[t.ID]; ok {
		return fmt.Errorf("add ticket %s: %w", t.ID, ErrDuplicate)
	}
	var party *memTicket // a ticket the owner is a mere party member of
	for i, mem := range t.Members {
		other, ok := m.players[mem.ID]
		if !ok {
			continue
		}
		if o := m.tickets[other]; i == 0 && o.state.Ticket.Members[0].ID != mem.ID {
			party = o
			continue
		}
		return fmt.Errorf("add ticket %s: player %s in ticket %s: %w", t.ID, mem.ID, other, ErrPlayerQueued)
	}
	if party != nil {
		m.leave(party, Cancelled, nil, now)
	}
	e := &memTicket{state: State{Ticket: t, Status: Queued, UpdatedAt: now}, left: make(chan struct{})}
	m.tickets[t.ID] = e
	q := m.queued[t.Mode]
	if q == nil {
		q = make(map[string]*memTicket)
		m.queued[t.Mode] = q
	}
	q[t.ID] = e
	for _, mem := range t.Members {
		m.players[mem.ID] = t.ID
	}
	return nil
}

// Get implements Queue.
func (m *Memory) Get(_ context.Context, id string) (State, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	e, ok := m.tickets[id]
	if !ok {
		return State{}, fmt.Errorf("get ticket %s: %w", id, ErrNotFound)
	}
	return e.copyState(), nil
}

func (e *memTicket) copyState() State {
	s := e.state
	s.Ticket.Members = cloneMembers(s.Ticket.Members)
	s.Assignment = s.Assignment.clone()
	return s
}

// Cancel implements Queue.
func (m *Memory) Cancel(_ context.Context, id string) error {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	e, ok := m.tickets[id]
	switch {
	case !ok:
		return fmt.Errorf("cancel ticket %s: %w", id, ErrNotFound)
	case e.state.Status != Queued:
		return fmt.Errorf("cancel ticket %s (%s): %w", id, e.state.Status, ErrNotQueued)
	}
	m.leave(e, Cancelled, nil, now)
	m.prune(now)
	return nil
}

// Queued implements Queue. The members of the returned tickets share one
// backing array, so a pass over many tickets costs few allocations.
func (m *Memory) Queued(_ context.Context, mode string) ([]Ticket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	q := m.queued[mode]
	out := make([]Ticket, 0, len(q))
	n := 0
	for _, e := range q {
		out = append(out, e.state.Ticket)
		n += len(e.state.Ticket.Members)
	}
	members := make([]Member, 0, n)
	for i := range out {
		start := len(members)
		members = append(members, out[i].Members...)
		out[i].Members = members[start:len(members):len(members)]
	}
	for i := range members {
		if members[i].Attributes != nil {
			members[i].Attributes = maps.Clone(members[i].Attributes)
		}
	}
	slices.SortFunc(out, func(a, b Ticket) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Modes implements Queue.
func (m *Memory) Modes(context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	modes := make([]string, 0, len(m.queued))
	for mode := range m.queued {
		modes = append(modes, mode)
	}
	slices.Sort(modes)
	return modes, nil
}

// Assign implements Queue.
func (m *Memory) Assign(_ context.Context, ids []string, a Assignment) error {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	es := make([]*memTicket, len(ids))
	for i, id := range ids {
		e, ok := m.tickets[id]
		switch {
		case !ok:
			return fmt.Errorf("assign ticket %s: %w", id, ErrNotFound)
		case e.state.Status != Queued:
			return fmt.Errorf("assign ticket %s (%s): %w", id, e.state.Status, ErrNotQueued)
		}
		es[i] = e
	}
	for _, e := range es {
		if e.state.Status == Queued { // an id given twice is assigned once
			// Read-only from here on: copyState clones it for callers.
			m.leave(e, Matched, a.For(e.state.Ticket.Members), now)
		}
	}
	m.prune(now)
	return nil
}

// Expire implements Queue.
func (m *Memory) Expire(_ context.Context, ids []string) (int, error) {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	n := 0
	for _, id := range ids {
		if e, ok := m.tickets[id]; ok && e.state.Status == Queued {
			m.leave(e, Expired, nil, now)
			n++
		}
	}
	m.prune(now)
	return n, nil
}

// leave moves a Queued ticket to status s and wakes its waiters. m.mu is held.
func (m *Memory) leave(e *memTicket, s Status, a *Assignment, now time.Time) {
	t := &e.state.Ticket
	e.state.Status, e.state.Assignment, e.state.UpdatedAt = s, a, now
	if q := m.queued[t.Mode]; q != nil {
		delete(q, t.ID)
		if len(q) == 0 {
			delete(m.queued, t.Mode)
		}
	}
	for _, mem := range t.Members {
		if m.players[mem.ID] == t.ID {
			delete(m.players, mem.ID)
		}
	}
	m.finished = append(m.finished, finishedTicket{id: t.ID, at: now})
	close(e.left)
}

// prune drops the tickets that left Queued more than Retain ago. m.mu is held.
func (m *Memory) prune(now time.Time) {
	retain := cmp.Or(m.Retain, DefaultRetain)
	n := 0
	for _, f := range m.finished {
		if now.Sub(f.at) < retain {
			break
		}
		delete(m.tickets, f.id)
		n++
	}
	if n > 0 {
		m.finished = slices.Delete(m.finished, 0, n)
	}
}

// Wait implements Queue.
func (m *Memory) Wait(ctx context.Context, id string, timeout time.Duration) (State, error) {
	m.mu.Lock()
	m.init()
	e, ok := m.tickets[id]
	if !ok {
		m.mu.Unlock()
		return State{}, fmt.Errorf("wait ticket %s: %w", id, ErrNotFound)
	}
	left := e.left
	m.mu.Unlock()

	var expired <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		expired = t.C
	}
	var ctxErr error
	select {
	case <-left:
	case <-expired:
	case <-ctx.Done():
		ctxErr = ctx.Err()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	// e rather than a fresh look-up: a prune in between must not turn a
	// finished ticket into ErrNotFound.
	return e.copyState(), ctxErr
}

// Lock implements Queue.
func (m *Memory) Lock(_ context.Context, name, owner string, ttl time.Duration) (bool, error) {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	if l, ok := m.locks[name]; ok && l.owner != owner && now.Before(l.until) {
		return false, nil
	}
	m.locks[name] = memLock{owner: owner, until: now.Add(ttl)}
	return true, nil
}

// Unlock implements Queue.
func (m *Memory) Unlock(_ context.Context, name, owner string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	if l, ok := m.locks[name]; ok && l.owner == owner {
		delete(m.locks, name)
	}
	return nil
}
