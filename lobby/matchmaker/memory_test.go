package matchmaker

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestMemory(t *testing.T) {
	testQueue(t, func(*testing.T) Queue { return NewMemory() })
}

func TestMemoryZeroValue(t *testing.T) {
	testQueue(t, func(*testing.T) Queue { return new(Memory) })
}

func TestMemoryPrunesFinishedTickets(t *testing.T) {
	ctx := context.Background()
	now := t0
	q := &Memory{Retain: time.Minute, now: func() time.Time { return now }}
	for _, id := range []string{"a", "b", "c"} {
		if err := q.Add(ctx, Ticket{ID: id, Mode: "duel", Members: []Member{{ID: "p-" + id}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Cancel(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(30 * time.Second)
	if err := q.Assign(ctx, []string{"b"}, Assignment{RoomID: "r"}); err != nil {
		t.Fatal(err)
	}
	now = now.Add(45 * time.Second) // a left 75 s ago, b 45 s ago
	if err := q.Add(ctx, Ticket{ID: "d", Mode: "duel", Members: []Member{{ID: "p-d"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a, cancelled 75 s ago with Retain 1m: Get = %v, want ErrNotFound", err)
	}
	if s, err := q.Get(ctx, "b"); err != nil || s.Status != Matched {
		t.Errorf("b, matched 45 s ago: Get = %v, %v; want still matched", s.Status, err)
	}
	if s, err := q.Get(ctx, "c"); err != nil || s.Status != Queued {
		t.Errorf("c: Get = %v, %v; a queued ticket is never pruned", s.Status, err)
	}
}

func TestMemoryReturnsCopies(t *testing.T) {
	ctx := context.Background()
	q := NewMemory()
	members := []Member{{ID: "ann"}}
	if err := q.Add(ctx, Ticket{ID: "a", Mode: "duel", Members: members}); err != nil {
		t.Fatal(err)
	}
	members[0].ID = "changed"
	qs, _ := q.Queued(ctx, "duel")
	qs[0].Members[0].ID = "changed too"
	if err := q.Assign(ctx, []string{"a"}, Assignment{RoomID: "r", Tickets: map[string]string{"ann": "jt"}}); err != nil {
		t.Fatal(err)
	}
	s, _ := q.Get(ctx, "a")
	s.Assignment.Tickets["ann"] = "forged"
	s, _ = q.Get(ctx, "a")
	if s.Ticket.Members[0].ID != "ann" || s.Assignment.Tickets["ann"] != "jt" {
		t.Errorf("stored state changed through a caller's slice or map: %+v %+v", s.Ticket, s.Assignment)
	}
}
