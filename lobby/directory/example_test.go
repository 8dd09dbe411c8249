package directory_test

import (
	"context"
	"fmt"
	"time"

	"github.com/tickwire/tickwire/lobby/directory"
)

func ExampleMemory() {
	ctx := context.Background()
	d := directory.NewMemory(30 * time.Second)
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	d.Now = func() time.Time { return now }

	// The lobby creates rooms; the node's heartbeat keeps them alive.
	for _, r := range []directory.Room{
		{ID: "r-1", Mode: "duel", Node: "n1", Address: "ws://127.0.0.1:7350", Capacity: 2},
		{ID: "r-2", Mode: "duel", Node: "n1", Address: "ws://127.0.0.1:7350", Capacity: 2, Private: true, Code: "K7PX2Q"},
	} {
		if err := d.Create(ctx, r, time.Minute); err != nil {
			fmt.Println(err)
		}
	}

	// A friend joins the private room by its code, in any case.
	r, _ := d.RoomByCode(ctx, "k7px2q")
	fmt.Println("by code:", r.ID)

	// Seats handed out count against the room until their players arrive.
	// A player asking again keeps their seat.
	_ = d.Assign(ctx, "r-1", []string{"ann", "bob"}, now)
	fmt.Println("ann asks again:", d.Assign(ctx, "r-1", []string{"ann"}, now))
	fmt.Println("a seat for cat:", d.Assign(ctx, "r-1", []string{"cat"}, now))
	rooms, next, _ := d.List(ctx, directory.Filter{Mode: "duel", HasSpace: true}, "", 20)
	fmt.Printf("with space: %d rooms, next %q\n", len(rooms), next)

	// Output:
	// by code: r-2
	// ann asks again: <nil>
	// a seat for cat: assign seats in room r-1: 1 wanted, 0 free: not enough free seats
	// with space: 0 rooms, next ""
}
