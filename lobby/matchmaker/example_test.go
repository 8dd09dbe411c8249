package matchmaker_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tickwire/tickwire/lobby/matchmaker"
)

// A server that runs alone: an in-memory queue, a Place that opens a room on
// this node, and one pass of the matcher (Run repeats it every second).
func ExampleMatcher() {
	ctx := context.Background()
	q := matchmaker.NewMemory()
	for _, p := range []struct {
		id     string
		rating float64
	}{{"ann", 1500}, {"bob", 1540}, {"cyd", 2400}} {
		t := matchmaker.Ticket{ID: "t-" + p.id, Mode: "duel", Members: []matchmaker.Member{{ID: p.id}}, Rating: p.rating}
		if err := q.Add(ctx, t); err != nil {
			fmt.Println(err)
		}
	}
	m := matchmaker.New(matchmaker.Config{
		Queue: q,
		Modes: func(name string) (matchmaker.Mode, bool) {
			return matchmaker.Mode{Name: "duel", Size: 2}, name == "duel"
		},
		Place: func(_ context.Context, g matchmaker.Group) (matchmaker.Assignment, error) {
			a := matchmaker.Assignment{RoomID: "room-1", Node: "n1", Address: "ws://127.0.0.1:7350", Tickets: map[string]string{}}
			for _, t := range g.Tickets {
				for _, p := range t.Members {
					a.Tickets[p.ID] = "signed-ticket-for-" + p.ID
				}
			}
			return a, nil
		},
	})
	st, _ := m.RunOnce(ctx, time.Now())
	fmt.Println("tickets matched:", st.Matched)

	// A client long-polls its ticket.
	s, _ := q.Wait(ctx, "t-ann", 30*time.Second)
	fmt.Println(s.Status, s.Assignment.RoomID, s.Assignment.Tickets["ann"])
	s, _ = q.Get(ctx, "t-cyd")
	fmt.Println(s.Status)
	// Output:
	// tickets matched: 2
	// matched room-1 signed-ticket-for-ann
	// queued
}
