package bots_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// A Mirror follows a room from its snapshot through deltas, decoding them by
// the schema from the Welcome and checking the server's checksum each time.
func ExampleMirror() {
	pos := &tickwirev1.FieldSpec{Name: "pos", Type: tickwirev1.FieldType_FIELD_TYPE_POS2, Scale: 16}
	schema, err := bots.NewSchema(&tickwirev1.Schema{
		Kinds: []*tickwirev1.EntityKind{{Name: "avatar", Fields: []*tickwirev1.FieldSpec{pos}}, {Name: "orb", Fields: []*tickwirev1.FieldSpec{pos}}},
		InputFields: []*tickwirev1.FieldSpec{
			{Name: "dx", Type: tickwirev1.FieldType_FIELD_TYPE_INT},
			{Name: "dy", Type: tickwirev1.FieldType_FIELD_TYPE_INT},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	var m bots.Mirror
	m.SetSchema(schema)
	m.SetSelf(1, 1)
	avatar := bots.Entity{ID: 1, Kind: 1, Record: bots.Record{Values: []int64{0, 0}}}
	orb := bots.Entity{ID: 2, Kind: 2, Record: bots.Record{Values: []int64{160, 160}}}
	players := []bots.Player{{ID: 1, Name: "ann", EntityID: 1}}
	err = m.ApplySnapshot(&tickwirev1.Snapshot{
		Tick: 7,
		// Column by column: every x, then every y, zigzag-coded.
		Entities: &tickwirev1.EntityColumns{Ids: []uint32{1, 2}, Kinds: []uint32{1, 2}, Values: []uint64{0, 320, 0, 320}},
		Players:  []*tickwirev1.Player{{Id: 1, Name: "ann", EntityId: 1}},
		Checksum: bots.Checksum(schema, []bots.Entity{avatar, orb}, players, bots.Record{}),
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	// Tick 8: the avatar steps 5 units north-east (x and y each +80, zigzag
	// 160) and its input 1 is acked.
	avatar.Values = []int64{80, 80}
	err = m.ApplyDelta(&tickwirev1.Delta{
		Tick: 8, BaseTick: 7,
		Updates:    &tickwirev1.EntityUpdates{IdGaps: []uint32{1}, Masks: []uint64{1 | 2}, Values: []uint64{160, 160}},
		AckPlayers: []uint32{1}, AckSeqs: []uint32{1},
		Checksum: bots.Checksum(schema, []bots.Entity{avatar, orb}, players, bots.Record{}),
	})
	in := bots.Chase{}.Next(&m, time.Now())
	fmt.Println(err, m.Tick(), m.LastInputSeq(), in.Values[:2])

	// A delta for another base tick is refused.
	err = m.ApplyDelta(&tickwirev1.Delta{Tick: 10, BaseTick: 9})
	fmt.Println(err, m.Synced())
	// Output:
	// <nil> 8 1 [1 1]
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
