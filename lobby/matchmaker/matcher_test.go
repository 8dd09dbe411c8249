package matchmaker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rooms is a fake Place: it gives every group a room of its own, on its node,
// with a join ticket per player.
type rooms struct {
	node string            // prefix of room ids
	fail func(Group) error // if set, called first; an error fails the Place

	mu   sync.Mutex // guards next
	next int
}

func newRooms() *rooms { return &rooms{node: "n1"} }

func (r *rooms) Place(_ context.Context, g Group) (Assignment, error) {
	if r.fail != nil {
		if err := r.fail(g); err != nil {
			return Assignment{}, err
		}
	}
	id := g.RoomID
	if id == "" {
		r.mu.Lock()
		r.next++
		id = fmt.Sprintf("%s-room-%d", r.node, r.next)
		r.mu.Unlock()
	}
	a := Assignment{RoomID: id, Node: r.node, Address: "ws://127.0.0.1:7350", Tickets: make(map[string]string)}
	for _, t := range g.Tickets {
		for _, m := range t.Members {
			a.Tickets[m.ID] = "jt-" + m.ID
		}
	}
	return a, nil
}

func modes(ms ...Mode) func(string) (Mode, bool) {
	return func(name string) (Mode, bool) {
		for _, m := range ms {
			if m.Name == name {
				return m, true
			}
		}
		return Mode{}, false
	}
}

func addAll(t testing.TB, q Queue, tks []Ticket) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	next := atomic.Int64{}
	for range 4 { // Redis round trips overlap
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(tks)); i = next.Add(1) - 1 {
				if err := q.Add(ctx, tks[i]); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}

func TestRunOnce(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	at := func(tk Ticket) Ticket { tk.CreatedAt = now.Add(tk.CreatedAt.Sub(t0)); return tk }
	q := NewMemory()
	duel := func(id string, rating float64, waited float64, members ...string) Ticket {
		tk := at(tk(id, rating, waited, members...))
		tk.Mode = "duel"
		return tk
	}
	squad := func(id string, n int, rating float64) Ticket {
		tk := at(party(id, n, rating, 1))
		tk.Mode = "squad"
		return tk
	}
	addAll(t, q, []Ticket{
		duel("a", 1500, 3), duel("b", 1520, 2), duel("c", 2500, 1),
		squad("s1", 2, 1500), squad("s2", 1, 1500), squad("s3", 1, 1500),
		{ID: "u", Mode: "unknown", Members: []Member{{ID: "u"}}, CreatedAt: now},
	})
	r := newRooms()
	m := New(Config{Queue: q, Modes: modes(Mode{Name: "duel", Size: 2}, Mode{Name: "squad", Size: 4}), Place: r.Place})
	st, err := m.RunOnce(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if st.Tickets != 7 || st.Groups != 2 || st.Matched != 5 || st.Skipped != 0 || st.Failed != 0 {
		t.Errorf("stats = %+v, want 7 tickets seen, 2 groups, 5 tickets matched", st)
	}
	rooms := make(map[string][]string) // room -> players
	for _, id := range []string{"a", "b", "s1", "s2", "s3"} {
		s, err := q.Get(ctx, id)
		if err != nil || s.Status != Matched || s.Assignment == nil {
			t.Fatalf("%s: %+v, %v; want matched", id, s, err)
		}
		for _, mem := range s.Ticket.Members {
			if s.Assignment.Tickets[mem.ID] != "jt-"+mem.ID || s.Assignment.Address == "" || s.Assignment.Backfill {
				t.Errorf("%s: assignment %+v lacks the join ticket of %s", id, s.Assignment, mem.ID)
			}
			rooms[s.Assignment.RoomID] = append(rooms[s.Assignment.RoomID], mem.ID)
		}
	}
	if len(rooms) != 2 {
		t.Errorf("players spread over %d rooms, want 2: %v", len(rooms), rooms)
	}
	for _, id := range []string{"c", "u"} {
		if s, _ := q.Get(ctx, id); s.Status != Queued {
			t.Errorf("%s: %v, want still queued", id, s.Status)
		}
	}
}

func TestRunOnceBackfill(t *testing.T) {
	ctx := context.Background()
	q := NewMemory()
	addAll(t, q, []Ticket{{ID: "a", Mode: "duel", Members: []Member{{ID: "ann"}}, Rating: 1500}})
	r := newRooms()
	m := New(Config{
		Queue: q, Modes: modes(Mode{Name: "duel", Size: 2}), Place: r.Place,
		Open: func(_ context.Context, mode string) ([]OpenRoom, error) {
			return []OpenRoom{{RoomID: "running", Mode: mode, Free: 1, Rating: 1510}}, nil
		},
	})
	if _, err := m.RunOnce(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	s, _ := q.Get(ctx, "a")
	if s.Status != Matched || s.Assignment.RoomID != "running" || !s.Assignment.Backfill {
		t.Errorf("state %v, assignment %+v; want backfilled into room running", s.Status, s.Assignment)
	}
}

func TestRunOnceSkipsFailedGroups(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	q := NewMemory()
	var tks []Ticket
	for i := range 6 {
		tks = append(tks, Ticket{ID: fmt.Sprint("t", i), Mode: "duel", Members: []Member{{ID: fmt.Sprint("p", i)}}, Rating: 1500, CreatedAt: now.Add(-time.Duration(10-i) * time.Second)})
	}
	addAll(t, q, tks)
	r := newRooms()
	r.fail = func(g Group) error {
		switch g.Tickets[0].ID {
		case "t0": // Place fails: the group stays queued
			return errors.New("no node has room")
		case "t2": // the player leaves while the room is being made
			return q.Cancel(ctx, g.Tickets[1].ID)
		}
		return nil
	}
	var released []string
	var mu sync.Mutex
	m := New(Config{
		Queue: q, Modes: modes(Mode{Name: "duel", Size: 2}), Place: r.Place,
		Release: func(_ context.Context, g Group, a Assignment) {
			mu.Lock()
			defer mu.Unlock()
			released = append(released, a.RoomID)
		},
	})
	st, err := m.RunOnce(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if st.Groups != 3 || st.Matched != 2 || st.Failed != 1 || st.Skipped != 1 {
		t.Errorf("stats = %+v, want 3 groups: 1 matched, 1 failed, 1 skipped", st)
	}
	for id, want := range map[string]Status{"t0": Queued, "t1": Queued, "t2": Queued, "t3": Cancelled, "t4": Matched, "t5": Matched} {
		if s, _ := q.Get(ctx, id); s.Status != want {
			t.Errorf("%s: %v, want %v", id, s.Status, want)
		}
	}
	if len(released) != 1 {
		t.Errorf("released rooms %q, want the one of the skipped group", released)
	}
}

func TestRunOnceExpires(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	q := NewMemory()
	addAll(t, q, []Ticket{
		{ID: "old", Mode: "duel", Members: []Member{{ID: "a"}}, CreatedAt: now.Add(-2 * time.Minute)},
		{ID: "new", Mode: "duel", Members: []Member{{ID: "b"}}, CreatedAt: now},
	})
	m := New(Config{Queue: q, Modes: modes(Mode{Name: "duel", Size: 2}), Place: newRooms().Place, MaxWait: time.Minute})
	st, err := m.RunOnce(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if st.Expired != 1 || st.Groups != 0 {
		t.Errorf("stats = %+v, want 1 expired and no group (the expired ticket is not matched)", st)
	}
	if s, _ := q.Get(ctx, "old"); s.Status != Expired {
		t.Errorf("old: %v, want expired", s.Status)
	}
}

// TestRun runs the loop over a memory queue as a lone server would.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	q := NewMemory()
	m := New(Config{Queue: q, Modes: modes(Mode{Name: "duel", Size: 2}), Place: newRooms().Place, Interval: 20 * time.Millisecond, Owner: "n1"})
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	addAll(t, q, []Ticket{
		{ID: "a", Mode: "duel", Members: []Member{{ID: "ann"}}, Rating: 1500},
		{ID: "b", Mode: "duel", Members: []Member{{ID: "bob"}}, Rating: 1550},
	})
	for _, id := range []string{"a", "b"} {
		if s, err := q.Wait(ctx, id, 10*time.Second); err != nil || s.Status != Matched {
			t.Errorf("Wait(%s) = %v, %v; want matched", id, s.Status, err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after ctx ends", err)
	}
	if ok, _ := q.Lock(context.Background(), LockName, "n2", time.Second); !ok {
		t.Error("Run did not release its lock")
	}
}

// TestTwoMatchersOneRedis runs two nodes' matchers on one Redis queue while
// tickets arrive and some are cancelled: no ticket may be assigned twice, and
// each node's lock must keep the other out most of the time.
func TestTwoMatchersOneRedis(t *testing.T) {
	c := redisClient(t)
	prefix := fmt.Sprintf("two%d:", prefixes.Add(1))
	spy := &assignSpy{Queue: NewRedis(c, prefix)}
	testTwoMatchers(t, spy, func() Queue { return &assignSpy{Queue: NewRedis(c, prefix), log: spy} }, true)
}

// TestTwoMatchersWithoutLock runs passes of two matchers at the same time,
// bypassing the lock: Assign alone must keep tickets from being assigned
// twice.
func TestTwoMatchersWithoutLock(t *testing.T) {
	c := redisClient(t)
	prefix := fmt.Sprintf("nolock%d:", prefixes.Add(1))
	spy := &assignSpy{Queue: NewRedis(c, prefix)}
	testTwoMatchers(t, spy, func() Queue { return &assignSpy{Queue: NewRedis(c, prefix), log: spy} }, false)
}

// testTwoMatchers runs two nodes, each with its own Queue from node() on the
// same store, while tickets arrive on q.
func testTwoMatchers(t *testing.T, q *assignSpy, node func() Queue, lock bool) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for _, name := range []string{"n1", "n2"} {
		m := New(Config{Queue: node(), Modes: modes(Mode{Name: "duel", Size: 2}, Mode{Name: "squad", Size: 4}), Place: (&rooms{node: name}).Place, Interval: 5 * time.Millisecond, Owner: name})
		wg.Go(func() {
			if lock {
				_ = m.Run(ctx)
				return
			}
			for ctx.Err() == nil {
				_, _ = m.RunOnce(ctx, time.Now())
				time.Sleep(time.Millisecond)
			}
		})
	}
	rng := rand.New(rand.NewPCG(9, 9))
	const n = 400
	for i := range n {
		mode := "duel"
		if i%3 == 0 {
			mode = "squad"
		}
		tk := Ticket{ID: fmt.Sprint("t", i), Mode: mode, Members: []Member{{ID: fmt.Sprint("p", i)}}, Rating: 1500 + rng.NormFloat64()*100}
		if err := q.Add(ctx, tk); err != nil {
			t.Fatal(err)
		}
		if i%7 == 0 && i > 0 {
			_ = q.Cancel(ctx, fmt.Sprint("t", i-1)) // may already be matched
		}
	}
	// Wait until the queue has settled: every ticket matched or cancelled,
	// but for the few the room sizes leave over (at most 1 duel, 3 squad).
	for range 500 {
		modes, _ := q.Modes(ctx)
		left := 0
		for _, mode := range modes {
			tks, _ := q.Queued(ctx, mode)
			left += len(tks)
		}
		if left <= 4 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wg.Wait()

	q.mu.Lock()
	defer q.mu.Unlock()
	matched := 0
	for i := range n {
		id := fmt.Sprint("t", i)
		rooms := q.assigned[id]
		if len(rooms) > 1 {
			t.Errorf("%s assigned %d times: %q", id, len(rooms), rooms)
		}
		s, err := q.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if s.Status == Matched {
			matched++
			if len(rooms) != 1 || s.Assignment.RoomID != rooms[0] {
				t.Errorf("%s: stored room %s, assigned %q", id, s.Assignment.RoomID, rooms)
			}
		}
	}
	t.Logf("%d of %d tickets matched; groups refused because a ticket had left the queue: %d", matched, n, q.lost)
	if matched < n/2 {
		t.Errorf("only %d of %d tickets matched", matched, n)
	}
}

// assignSpy records the successful Assigns of every node.
type assignSpy struct {
	Queue
	log *assignSpy // where to record; nil: here

	mu       sync.Mutex          // guards the fields below
	assigned map[string][]string // ticket id -> rooms it was assigned to
	lost     int                 // Assigns refused with ErrNotQueued
}

func (s *assignSpy) Assign(ctx context.Context, ids []string, a Assignment) error {
	err := s.Queue.Assign(ctx, ids, a)
	l := s
	if s.log != nil {
		l = s.log
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.assigned == nil {
		l.assigned = make(map[string][]string)
	}
	switch {
	case err == nil:
		for _, id := range ids {
			l.assigned[id] = append(l.assigned[id], a.RoomID)
		}
	case errors.Is(err, ErrNotQueued):
		l.lost++
	}
	return err
}

func testRunOnce10000(t *testing.T, q Queue) {
	ctx := context.Background()
	now := time.Now()
	tks := pool(rand.New(rand.NewPCG(1, 2)), 10000, "arena")
	for i := range tks {
		tks[i].CreatedAt = now.Add(tks[i].CreatedAt.Sub(t0))
	}
	addAll(t, q, tks)
	r := newRooms()
	m := New(Config{Queue: q, Modes: modes(Mode{Name: "arena", Size: 16}), Place: r.Place})
	st, err := m.RunOnce(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("one pass over %d tickets: %d groups, %d tickets matched, in %v", st.Tickets, st.Groups, st.Matched, st.Duration)
	if st.Tickets != len(tks) || st.Matched < len(tks)*9/10 || st.Failed+st.Skipped != 0 {
		t.Errorf("stats = %+v; want all %d tickets seen and most matched", st, len(tks))
	}
	left, err := q.Queued(ctx, "arena")
	if err != nil || len(left) != len(tks)-st.Matched {
		t.Errorf("%d tickets left queued (%v), want %d", len(left), err, len(tks)-st.Matched)
	}
}

func TestRunOnce10000Memory(t *testing.T) {
	testRunOnce10000(t, NewMemory())
}

func TestRunOnce10000Redis(t *testing.T) {
	testRunOnce10000(t, newRedisQueue(t, redisClient(t)))
}

// BenchmarkRunOnce10000 is a full pass of the matcher, Queue reads and writes
// included, over 10,000 queued tickets. Refilling the queue is not timed.
func BenchmarkRunOnce10000(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchRunOnce(b, func() Queue { return NewMemory() }) })
	b.Run("redis", func(b *testing.B) {
		c := redisClient(b)
		benchRunOnce(b, func() Queue {
			c.FlushDB(context.Background())
			return NewRedis(c, "")
		})
	})
}

func benchRunOnce(b *testing.B, newQueue func() Queue) {
	tks := pool(rand.New(rand.NewPCG(1, 2)), 10000, "arena")
	b.ReportAllocs()
	var matched int
	for b.Loop() {
		b.StopTimer()
		q := newQueue()
		now := time.Now()
		for i := range tks {
			tks[i].CreatedAt = now.Add(tks[i].CreatedAt.Sub(t0) % (30 * time.Second))
		}
		addAll(b, q, tks)
		m := New(Config{Queue: q, Modes: modes(Mode{Name: "arena", Size: 16}), Place: newRooms().Place})
		b.StartTimer()
		st, err := m.RunOnce(context.Background(), now)
		if err != nil {
			b.Fatal(err)
		}
		matched = st.Matched
	}
	b.ReportMetric(float64(matched), "matched")
}
