package matchmaker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"
)

// testQueue is the conformance suite every Queue passes. newQueue returns an
// empty queue for one subtest.
func testQueue(t *testing.T, newQueue func(t *testing.T) Queue) {
	ctx := context.Background()
	ticket := func(id, mode string, players ...string) Ticket {
		if len(players) == 0 {
			players = []string{"p-" + id}
		}
		tk := Ticket{ID: id, Mode: mode, Rating: 1234.5678901234567, CreatedAt: time.Now().Add(-time.Second)}
		for _, p := range players {
			tk.Members = append(tk.Members, Member{ID: p, Name: "name of " + p})
		}
		return tk
	}
	mustAdd := func(t *testing.T, q Queue, tks ...Ticket) {
		t.Helper()
		for _, tk := range tks {
			if err := q.Add(ctx, tk); err != nil {
				t.Fatalf("Add(%s): %v", tk.ID, err)
			}
		}
	}
	status := func(t *testing.T, q Queue, id string) Status {
		t.Helper()
		s, err := q.Get(ctx, id)
		if err != nil {
			t.Fatalf("Get(%s): %v", id, err)
		}
		return s.Status
	}
	queuedIDs := func(t *testing.T, q Queue, mode string) []string {
		t.Helper()
		tks, err := q.Queued(ctx, mode)
		if err != nil {
			t.Fatalf("Queued(%s): %v", mode, err)
		}
		ids := make([]string, len(tks))
		for i, tk := range tks {
			ids[i] = tk.ID
		}
		return ids
	}
	asg := Assignment{RoomID: "room-1", Node: "node-a", Address: "ws://127.0.0.1:7350", Tickets: map[string]string{"p-a": "jt-a", "p-b": "jt-b"}}

	t.Run("AddGet", func(t *testing.T) {
		q := newQueue(t)
		want := ticket("a", "duel", "ann", "bob")
		mustAdd(t, q, want)
		s, err := q.Get(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		got := s.Ticket
		if s.Status != Queued || s.Assignment != nil || s.UpdatedAt.IsZero() {
			t.Errorf("state = %+v, want Queued, no assignment, an update time", s)
		}
		if got.ID != want.ID || got.Mode != want.Mode || got.Rating != want.Rating || !got.CreatedAt.Equal(want.CreatedAt) || !reflect.DeepEqual(got.Members, want.Members) {
			t.Errorf("Get returned %+v, want %+v", got, want)
		}
		if _, err := q.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Get(unknown) = %v, want ErrNotFound", err)
		}
	})

	t.Run("MembersKeepTeamAndAttributes", func(t *testing.T) {
		q := newQueue(t)
		tk := ticket("a", "duel", "ann", "bob", "cy")
		tk.Members[0].Team, tk.Members[0].Attributes = "red", map[string]string{"class": "medic", "skin": "Zoë's \"gold\""}
		tk.Members[1].Team = "blue"
		tk.Members[2].Attributes = map[string]string{"": "", "k": ""}
		mustAdd(t, q, tk)
		want := ticket("a", "duel", "ann", "bob", "cy")
		want.Members[0].Team, want.Members[0].Attributes = "red", map[string]string{"class": "medic", "skin": "Zoë's \"gold\""}
		want.Members[1].Team = "blue"
		want.Members[2].Attributes = map[string]string{"": "", "k": ""}
		tk.Members[0].Attributes["class"] = "changed after Add" // the queue keeps its own copy
		check := func(what string, got []Member) {
			t.Helper()
			if !reflect.DeepEqual(got, want.Members) {
				t.Fatalf("%s: members %+v, want %+v", what, got, want.Members)
			}
		}
		s, err := q.Get(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		check("Get", s.Ticket.Members)
		s.Ticket.Members[0].Attributes["class"] = "changed by a reader"
		tks, err := q.Queued(ctx, "duel")
		if err != nil || len(tks) != 1 {
			t.Fatalf("Queued: %v, %v", tks, err)
		}
		check("Queued", tks[0].Members)
		tks[0].Members[0].Attributes["class"] = "changed by the matcher"
		if err := q.Assign(ctx, []string{"a"}, asg); err != nil {
			t.Fatal(err)
		}
		if s, err = q.Get(ctx, "a"); err != nil || s.Status != Matched {
			t.Fatalf("after Assign: %+v, %v", s, err)
		}
		check("Get after Assign", s.Ticket.Members)
	})

	t.Run("AddSetsCreatedAt", func(t *testing.T) {
		q := newQueue(t)
		before := time.Now()
		tk := ticket("a", "duel")
		tk.CreatedAt = time.Time{}
		mustAdd(t, q, tk)
		s, _ := q.Get(ctx, "a")
		if s.Ticket.CreatedAt.Before(before.Add(-time.Millisecond)) || s.Ticket.CreatedAt.After(time.Now()) {
			t.Errorf("CreatedAt = %v, want the time of Add", s.Ticket.CreatedAt)
		}
	})

	t.Run("AddInvalid", func(t *testing.T) {
		q := newQueue(t)
		for name, tk := range map[string]Ticket{
			"no id":         {Mode: "duel", Members: []Member{{ID: "p"}}},
			"no mode":       {ID: "a", Members: []Member{{ID: "p"}}},
			"no members":    {ID: "a", Mode: "duel"},
			"member no id":  {ID: "a", Mode: "duel", Members: []Member{{Name: "x"}}},
			"member twice":  {ID: "a", Mode: "duel", Members: []Member{{ID: "p"}, {ID: "p"}}},
			"rating is NaN": {ID: "a", Mode: "duel", Members: []Member{{ID: "p"}}, Rating: math.NaN()},
		} {
			if err := q.Add(ctx, tk); !errors.Is(err, ErrInvalidTicket) {
				t.Errorf("%s: Add = %v, want ErrInvalidTicket", name, err)
			}
		}
		if modes, _ := q.Modes(ctx); len(modes) != 0 {
			t.Errorf("Modes = %q after invalid adds, want none", modes)
		}
	})

	t.Run("Duplicate", func(t *testing.T) {
		q := newQueue(t)
		mustAdd(t, q, ticket("a", "duel", "ann"))
		if err := q.Add(ctx, ticket("a", "duel", "bob")); !errors.Is(err, ErrDuplicate) {
			t.Errorf("Add(same id) = %v, want ErrDuplicate", err)
		}
		if err := q.Cancel(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		// A retained ticket still owns its id.
		if err := q.Add(ctx, ticket("a", "duel", "bob")); !errors.Is(err, ErrDuplicate) {
			t.Errorf("Add(id of a cancelled ticket) = %v, want ErrDuplicate", err)
		}
	})

	t.Run("PlayerQueued", func(t *testing.T) {
		q := newQueue(t)
		mustAdd(t, q, ticket("a", "duel", "ann"))
		if err := q.Add(ctx, ticket("b", "squad", "bob", "ann")); !errors.Is(err, ErrPlayerQueued) {
			t.Fatalf("Add(party with a queued player) = %v, want ErrPlayerQueued", err)
		}
		if _, err := q.Get(ctx, "b"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a refused ticket was stored: Get = %v", err)
		}
		mustAdd(t, q, ticket("c", "duel", "bob")) // bob was not held by the refused ticket
		if err := q.Cancel(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		mustAdd(t, q, ticket("d", "duel", "ann")) // ann is free again
	})

	t.Run("Cancel", func(t *testing.T) {
		q := newQueue(t)
		mustAdd(t, q, ticket("a", "duel"), ticket("b", "duel"))
		if err := q.Cancel(ctx, "a"); err != nil {
			t.Fatal(err)
		}
		if s := status(t, q, "a"); s != Cancelled {
			t.Errorf("status = %v, want cancelled", s)
		}
		if err := q.Cancel(ctx, "a"); !errors.Is(err, ErrNotQueued) {
			t.Errorf("second Cancel = %v, want ErrNotQueued", err)
		}
		if err := q.Cancel(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Cancel(unknown) = %v, want ErrNotFound", err)
		}
		if ids := queuedIDs(t, q, "duel"); !slices.Equal(ids, []string{"b"}) {
			t.Errorf("Queued = %q, want [b]", ids)
		}
		if err := q.Cancel(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if modes, _ := q.Modes(ctx); len(modes) != 0 {
			t.Errorf("Modes = %q with nothing queued, want none", modes)
		}
	})

	t.Run("QueuedAndModes", func(t *testing.T) {
		q := newQueue(t)
		now := time.Now()
		for i, id := range []string{"c", "a", "b"} { // added newest first
			tk := ticket(id, "duel")
			tk.CreatedAt = now.Add(-time.Duration(i) * time.Second)
			mustAdd(t, q, tk)
		}
		mustAdd(t, q, ticket("s", "squad"))
		if ids := queuedIDs(t, q, "duel"); !slices.Equal(ids, []string{"b", "a", "c"}) {
			t.Errorf("Queued(duel) = %q, want oldest first [b a c]", ids)
		}
		if ids := queuedIDs(t, q, "none"); len(ids) != 0 {
			t.Errorf("Queued(none) = %q", ids)
		}
		modes, err := q.Modes(ctx)
		slices.Sort(modes)
		if err != nil || !slices.Equal(modes, []string{"duel", "squad"}) {
			t.Errorf("Modes = %q, %v; want [duel squad]", modes, err)
		}
	})

	t.Run("Assign", func(t *testing.T) {
		q := newQueue(t)
		mustAdd(t, q, ticket("a", "duel"), ticket("b", "duel"), ticket("c", "duel"))
		if err := q.Assign(ctx, []string{"a", "b"}, asg); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"a", "b"} {
			s, _ := q.Get(ctx, id)
			if s.Status != Matched || s.Assignment == nil || s.Assignment.RoomID != "room-1" || s.Assignment.Address != asg.Address || s.Assignment.Tickets["p-"+id] != "jt-"+id {
				t.Errorf("%s: state %+v, assignment %+v; want matched into room-1", id, s, s.Assignment)
			}
		}
		if err := q.Assign(ctx, []string{"a"}, asg); !errors.Is(err, ErrNotQueued) {
			t.Errorf("Assign(matched ticket) = %v, want ErrNotQueued", err)
		}
		if err := q.Cancel(ctx, "a"); !errors.Is(err, ErrNotQueued) {
			t.Errorf("Cancel(matched ticket) = %v, want ErrNotQueued", err)
		}
		if ids := queuedIDs(t, q, "duel"); !slices.Equal(ids, []string{"c"}) {
			t.Errorf("Queued = %q, want [c]", ids)
		}
		mustAdd(t, q, ticket("a2", "duel", "p-a")) // a matched player may queue again
	})

	t.Run("AssignKeepsSeatsApart", func(t *testing.T) {
		// Two strangers and a party matched into one room: each ticket's
		// holder reads its own members' join tickets, never another's.
		q := newQueue(t)
		mustAdd(t, q, ticket("a", "squad", "ann"), ticket("b", "squad", "bob"), ticket("c", "squad", "cat", "dan"))
		group := Assignment{RoomID: "room-1", Node: "node-a", Address: "ws://127.0.0.1:7350", Backfill: true,
			Tickets: map[string]string{"ann": "jt-ann", "bob": "jt-bob", "cat": "jt-cat", "dan": "jt-dan"}}
		if err := q.Assign(ctx, []string{"a", "b", "c"}, group); err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]map[string]string{
			"a": {"ann": "jt-ann"},
			"b": {"bob": "jt-bob"},
			"c": {"cat": "jt-cat", "dan": "jt-dan"},
		} {
			for _, read := range []func() (State, error){
				func() (State, error) { return q.Get(ctx, id) },
				func() (State, error) { return q.Wait(ctx, id, time.Second) },
			} {
				s, err := read()
				if err != nil || s.Assignment == nil {
					t.Fatalf("%s: %+v, %v", id, s, err)
				}
				if got := s.Assignment.Tickets; !maps.Equal(got, want) {
					t.Errorf("ticket %s reads join tickets %v, want only its own %v", id, got, want)
				}
				if a := s.Assignment; a.RoomID != "room-1" || a.Node != "node-a" || a.Address != group.Address || !a.Backfill {
					t.Errorf("ticket %s: assignment %+v, want the group's room, node, address and backfill", id, a)
				}
			}
		}
	})

	t.Run("OwnerLeavesParty", func(t *testing.T) {
		// ann names bob in her party; bob's own ticket still queues, and
		// cancels hers, since a party never splits.
		q := newQueue(t)
		mustAdd(t, q, ticket("p", "squad", "ann", "bob"))
		if err := q.Add(ctx, ticket("s", "duel", "bob")); err != nil {
			t.Fatalf("bob, named in ann's party, queues alone: %v", err)
		}
		if got := status(t, q, "p"); got != Cancelled {
			t.Errorf("ann's party ticket is %v, want cancelled", got)
		}
		if got := status(t, q, "s"); got != Queued {
			t.Errorf("bob's ticket is %v, want queued", got)
		}
		if ids := queuedIDs(t, q, "squad"); len(ids) != 0 {
			t.Errorf("Queued(squad) = %q, want none", ids)
		}
		if modes, _ := q.Modes(ctx); !slices.Equal(modes, []string{"duel"}) {
			t.Errorf("Modes = %q, want [duel]", modes)
		}
		// ann is free again; bob is held by his own ticket now.
		mustAdd(t, q, ticket("a2", "duel", "ann"))
		if err := q.Add(ctx, ticket("p2", "squad", "cat", "bob")); !errors.Is(err, ErrPlayerQueued) {
			t.Errorf("a party naming bob while his own ticket is queued: %v, want ErrPlayerQueued", err)
		}
		if err := q.Add(ctx, ticket("s2", "duel", "bob")); !errors.Is(err, ErrPlayerQueued) {
			t.Errorf("bob's second own ticket: %v, want ErrPlayerQueued", err)
		}
		// A refused ticket changes nothing: cat owns one, and a party she
		// is named in stays queued when its owner's ticket is refused.
		mustAdd(t, q, ticket("c", "duel", "cat"), ticket("p3", "squad", "eve", "fay"))
		if err := q.Add(ctx, ticket("f", "squad", "fay", "cat")); !errors.Is(err, ErrPlayerQueued) {
			t.Errorf("fay's ticket naming the queued cat: %v, want ErrPlayerQueued", err)
		}
		if got := status(t, q, "p3"); got != Queued {
			t.Errorf("eve's party after fay's refused ticket is %v, want still queued", got)
		}
	})

	t.Run("AssignAllOrNothing", func(t *testing.T) {
		q := newQueue(t)
		mustAdd(t, q, ticket("a", "duel"), ticket("b", "duel"), ticket("c", "duel"))
		if err := q.Cancel(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if err := q.Assign(ctx, []string{"a", "b", "c"}, asg); !errors.Is(err, ErrNotQueued) {
			t.Fatalf("Assign with a cancelled ticket = %v, want ErrNotQueued", err)
		}
		if err := q.Assign(ctx, []string{"a", "nope", "c"}, asg); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Assign with an unknown ticket = %v, want ErrNotFound", err)
		}
		for id, want := range map[string]Status{"a": Queued, "b": Cancelled, "c": Queued} {
			if s := status(t, q, id); s != want {
				t.Errorf("%s: %v, want %v", id, s, want)
			}
		}
		if ids := queuedIDs(t, q, "duel"); !slices.Equal(ids, []string{"a", "c"}) {
			t.Errorf("Queued = %q, want [a c]", ids)
		}
		if err := q.Add(ctx, ticket("x", "duel", "p-a")); !errors.Is(err, ErrPlayerQueued) {
			t.Errorf("player of a still queued ticket could queue again: %v", err)
		}
	})

	t.Run("Expire", func(t *testing.T) {
		q := newQueue(t)
		mustAdd(t, q, ticket("a", "duel"), ticket("b", "duel"), ticket("c", "duel"))
		if err := q.Cancel(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		n, err := q.Expire(ctx, []string{"a", "b", "nope"})
		if err != nil || n != 1 {
			t.Fatalf("Expire = %d, %v; want 1 expired", n, err)
		}
		for id, want := range map[string]Status{"a": Expired, "b": Cancelled, "c": Queued} {
			if s := status(t, q, id); s != want {
				t.Errorf("%s: %v, want %v", id, s, want)
			}
		}
	})

	t.Run("Wait", func(t *testing.T) {
		q := newQueue(t)
		mustAdd(t, q, ticket("a", "duel"), ticket("b", "duel"), ticket("c", "duel"))
		type result struct {
			s   State
			err error
		}
		wait := func(id string) <-chan result {
			ch := make(chan result, 1)
			go func() {
				s, err := q.Wait(ctx, id, time.Minute)
				ch <- result{s, err}
			}()
			return ch
		}
		assigned, cancelled := wait("a"), wait("b")
		time.Sleep(100 * time.Millisecond) // let both block
		if err := q.Assign(ctx, []string{"a"}, asg); err != nil {
			t.Fatal(err)
		}
		if err := q.Cancel(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if r := <-assigned; r.err != nil || r.s.Status != Matched || r.s.Assignment == nil || r.s.Assignment.RoomID != "room-1" {
			t.Errorf("Wait(a) = %+v, %v; want matched into room-1", r.s, r.err)
		}
		if r := <-cancelled; r.err != nil || r.s.Status != Cancelled {
			t.Errorf("Wait(b) = %+v, %v; want cancelled", r.s, r.err)
		}

		s, err := q.Wait(ctx, "c", 50*time.Millisecond)
		if err != nil || s.Status != Queued {
			t.Errorf("Wait(c) with a timeout = %v, %v; want still queued", s.Status, err)
		}
		cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if s, err := q.Wait(cctx, "c", 0); !errors.Is(err, context.DeadlineExceeded) || s.Status != Queued {
			t.Errorf("Wait(c) until ctx ends = %v, %v; want queued, DeadlineExceeded", s.Status, err)
		}
		if s, err := q.Wait(ctx, "a", time.Minute); err != nil || s.Status != Matched {
			t.Errorf("Wait(matched) = %v, %v; want matched at once", s.Status, err)
		}
		if _, err := q.Wait(ctx, "nope", time.Minute); !errors.Is(err, ErrNotFound) {
			t.Errorf("Wait(unknown) = %v, want ErrNotFound", err)
		}
	})

	t.Run("Lock", func(t *testing.T) {
		q := newQueue(t)
		lock := func(owner string, ttl time.Duration) bool {
			t.Helper()
			ok, err := q.Lock(ctx, "m", owner, ttl)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		if !lock("a", time.Minute) {
			t.Fatal("a could not take a free lock")
		}
		if lock("b", time.Minute) {
			t.Fatal("b took a lock held by a")
		}
		if !lock("a", time.Minute) {
			t.Fatal("a could not extend its own lock")
		}
		if err := q.Unlock(ctx, "m", "b"); err != nil {
			t.Fatal(err)
		}
		if lock("b", time.Minute) {
			t.Fatal("b's Unlock released a's lock")
		}
		if ok, _ := q.Lock(ctx, "other", "b", time.Minute); !ok {
			t.Fatal("locks of different names are not independent")
		}
		if err := q.Unlock(ctx, "m", "a"); err != nil {
			t.Fatal(err)
		}
		if !lock("b", time.Minute) {
			t.Fatal("b could not take the lock a released")
		}
		if lock("a", time.Minute) {
			t.Fatal("a took the lock held by b")
		}
		if !lock("b", 100*time.Millisecond) { // b shortens its ttl, then stops renewing
			t.Fatal("b could not renew its lock")
		}
		time.Sleep(300 * time.Millisecond)
		if !lock("a", time.Minute) {
			t.Fatal("a could not take the lock after b's ttl")
		}
	})

	t.Run("AssignCancelRace", func(t *testing.T) {
		q := newQueue(t)
		const pairs = 100
		for i := range pairs {
			mustAdd(t, q, ticket(fmt.Sprint("x", i), "duel"), ticket(fmt.Sprint("y", i), "duel"))
		}
		assignErr := make([]error, pairs)
		cancelErr := make([]error, pairs)
		var wg sync.WaitGroup
		for i := range pairs {
			a := Assignment{RoomID: fmt.Sprint("room", i)}
			wg.Go(func() { assignErr[i] = q.Assign(ctx, []string{fmt.Sprint("x", i), fmt.Sprint("y", i)}, a) })
			wg.Go(func() { cancelErr[i] = q.Cancel(ctx, fmt.Sprint("x", i)) })
		}
		wg.Wait()
		won := 0
		for i := range pairs {
			x, y := status(t, q, fmt.Sprint("x", i)), status(t, q, fmt.Sprint("y", i))
			switch {
			case assignErr[i] == nil && errors.Is(cancelErr[i], ErrNotQueued):
				won++
				if x != Matched || y != Matched {
					t.Errorf("pair %d assigned but x %v, y %v", i, x, y)
				}
			case cancelErr[i] == nil && errors.Is(assignErr[i], ErrNotQueued):
				if x != Cancelled || y != Queued {
					t.Errorf("pair %d: cancel won but x %v, y %v; want cancelled, queued", i, x, y)
				}
			default:
				t.Errorf("pair %d: Assign %v, Cancel %v; exactly one should win", i, assignErr[i], cancelErr[i])
			}
		}
		t.Logf("assign won %d of %d races", won, pairs)
	})

	t.Run("OnePlayerOneTicketRace", func(t *testing.T) {
		q := newQueue(t)
		const n = 20
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { errs[i] = q.Add(ctx, ticket(fmt.Sprint("t", i), "duel", "ann", fmt.Sprint("friend", i))) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, ErrPlayerQueued):
				t.Errorf("Add: %v", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d tickets with the same player were queued, want 1", ok)
		}
	})
}

func TestStatusText(t *testing.T) {
	for _, s := range []Status{Queued, Matched, Cancelled, Expired} {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var got Status
		if err := got.UnmarshalText(b); err != nil || got != s || string(b) != s.String() {
			t.Errorf("%v: marshalled %q, read back %v, %v", s, b, got, err)
		}
	}
	if _, err := Status(0).MarshalText(); err == nil {
		t.Error("the zero Status marshalled")
	}
	var s Status
	if err := s.UnmarshalText([]byte("")); err == nil {
		t.Error(`"" unmarshalled`)
	}
}
