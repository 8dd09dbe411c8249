package bots_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// A Mirror follows a room from its snapshot through deltas, checking the
// server's checksum each time.
func ExampleMirror() {
	var m bots.Mirror
	m.SetSelf(1, 1)
	orb := bots.Entity{ID: 2, Kind: bots.KindOrb, X: 160, Y: 160}
	avatar := bots.Entity{ID: 1, Kind: bots.KindAvatar}
	players := []bots.Player{{ID: 1, Name: "ann", EntityID: 1}}
	err := m.ApplySnapshot(&tickwirev1.Snapshot{
		Tick: 7, EntityIds: []uint32{1, 2}, Kinds: []uint32{1, 2}, X: []int32{0, 160}, Y: []int32{0, 160},
		Angle: []uint32{0, 0}, Value: []int32{0, 0}, Players: []*tickwirev1.Player{{Id: 1, Name: "ann", EntityId: 1}},
		Checksum: bots.Checksum([]bots.Entity{avatar, orb}, players),
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// Tick 8: the avatar steps 5 units north-east and its input 1 is acked.
	avatar.X, avatar.Y = 80, 80
	err = m.ApplyDelta(&tickwirev1.Delta{
		Tick: 8, BaseTick: 7,
		Updates:    &tickwirev1.EntityUpdates{IdGaps: []uint32{1}, Masks: []uint32{1 | 2}, Dx: []int32{80}, Dy: []int32{80}},
		AckPlayers: []uint32{1}, AckSeqs: []uint32{1},
		Checksum: bots.Checksum([]bots.Entity{avatar, orb}, players),
	})
	fmt.Println(err, m.Tick(), m.LastInputSeq(), bots.Chase{}.Next(&m, time.Now()))

	// A delta for another base tick is refused.
	err = m.ApplyDelta(&tickwirev1.Delta{Tick: 10, BaseTick: 9})
	fmt.Println(err, m.Synced())
	// Output:
	// <nil> 8 1 {1 1 0}
	// delta 10: base tick 9, mirror at 8: delta base tick is not the mirror's tick false
}

// Run plays the arena workload, 50 rooms of 16 random walkers, against a
// server: joins spread over ten seconds, then a measured minute, with a live
// progress line on the terminal. It prints the report and draws it as a page.
func ExampleRun() {
	rep, err := bots.Run(context.Background(), bots.RunConfig{
		URL:      "ws://127.0.0.1:7350",
		Rooms:    50,
		Players:  16,
		RampUp:   10 * time.Second,
		Duration: time.Minute,
		Progress: os.Stderr, // only when it is a terminal
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	_ = rep.Print(os.Stdout)
	if f, err := os.Create("report.html"); err == nil {
		_ = rep.WriteHTML(f)
		_ = f.Close()
	}
	if err := rep.Failed(); err != nil {
		fmt.Fprintln(os.Stderr, "bots:", err)
	}
}
