package bots

import (
	"errors"
	"testing"
	"time"

	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// mirrorWith returns a synced mirror whose own avatar (entity 1) is at
// (x, y), with the given other entities.
func mirrorWith(t *testing.T, x, y int64, others ...Entity) *Mirror {
	t.Helper()
	s := State{
		Tick:     1,
		Entities: append([]Entity{av(1, x, y, 0, "")}, others...),
		Players:  []Player{player(1, "", 1, 0, 0)},
		Room:     room(0),
	}
	var m Mirror
	m.SetSchema(testSchema)
	m.SetSelf(1, 1)
	if err := m.ApplySnapshot(snapshotOf(s)); err != nil {
		t.Fatal(err)
	}
	return &m
}

func TestChaseHeadsForNearestOrb(t *testing.T) {
	tests := []struct {
		name   string
		others []Entity
		want   Input
	}{
		{"north-east", []Entity{orb(2, 9000, 9000)}, dir(1, 1)},
		{"south-west", []Entity{orb(2, 1000, 2000)}, dir(-1, -1)},
		{"straight west, level within half a step", []Entity{orb(2, 100, 8030)}, dir(-1, 0)},
		{"nearest of several", []Entity{orb(2, 16000, 16000), orb(3, 8000, 7000), orb(4, 0, 0)}, dir(0, -1)},
		{"ignores avatars", []Entity{av(2, 8100, 8000, 0, ""), orb(3, 8000, 12000)}, dir(0, 1)},
		{"on top of the orb", []Entity{orb(2, 8010, 7990)}, Input{}},
		{"no orbs", nil, Input{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mirrorWith(t, 8000, 8000, tc.others...)
			if got := (Chase{}).Next(m, time.Now()); got != tc.want {
				t.Errorf("Next = %+v, want %+v", got, tc.want)
			}
		})
	}
	t.Run("no own avatar", func(t *testing.T) {
		var m Mirror
		m.SetSchema(testSchema)
		m.SetSelf(1, 7)
		if got := (Chase{}).Next(&m, time.Now()); got != (Input{}) {
			t.Errorf("Next = %+v, want standing still", got)
		}
	})
}

// Following Chase's inputs the way the arena moves a player (5 units per
// tick) reaches the orb.
func TestChaseReachesOrb(t *testing.T) {
	const step, touch = 5 * 16, 10 * 16
	x, y := int64(1000), int64(15000)
	const ox, oy = 9000, 3000
	for tick := range 1000 {
		m := mirrorWith(t, x, y, orb(2, ox, oy))
		in := (Chase{}).Next(m, time.Time{})
		x, y = x+in.Values[0]*step, y+in.Values[1]*step
		dx, dy := ox-x, oy-y
		if dx*dx+dy*dy <= touch*touch {
			return
		}
		if in == (Input{}) {
			t.Fatalf("tick %d: standing still at (%d, %d), orb at (%d, %d)", tick, x, y, ox, oy)
		}
	}
	t.Fatalf("never reached the orb: at (%d, %d)", x, y)
}

func TestRandomWalk(t *testing.T) {
	r := NewRandom(42)
	start := time.Unix(1000, 0)
	var changes, still int
	prev := dir(9, 0)
	m := &Mirror{}
	m.SetSchema(testSchema)
	const inputs = 600 // a minute at 10 Hz
	for i := range inputs {
		in := r.Next(m, start.Add(time.Duration(i)*100*time.Millisecond))
		if dx, dy := in.Values[0], in.Values[1]; dx < -1 || dx > 1 || dy < -1 || dy > 1 || in != dir(dx, dy) {
			t.Fatalf("input %d = %+v, outside the arena's directions", i, in)
		}
		if in != prev {
			changes++
		}
		if in == (Input{}) {
			still++
		}
		prev = in
	}
	// About one pick a second; a pick may repeat the direction.
	if changes < 30 || changes > 70 {
		t.Errorf("%d direction changes in a minute, want about 50-60", changes)
	}
	if still == 0 || still > inputs/3 {
		t.Errorf("stood still for %d of %d inputs, want occasionally", still, inputs)
	}

	// The same seed makes the same walk.
	a, b := NewRandom(7), NewRandom(7)
	for i := range 100 {
		now := start.Add(time.Duration(i) * 100 * time.Millisecond)
		if x, y := a.Next(m, now), b.Next(m, now); x != y {
			t.Fatalf("input %d differs between equal seeds: %+v, %+v", i, x, y)
		}
	}
}

func TestBehaviourByName(t *testing.T) {
	for _, name := range BehaviourNames() {
		b, err := BehaviourByName(name, 1)
		if err != nil || b == nil {
			t.Errorf("BehaviourByName(%q) = %v, %v", name, b, err)
		}
	}
	if in := (Idle{}).Next(nil, time.Now()); in != (Input{}) {
		t.Errorf("Idle.Next = %+v, want standing still", in)
	}
	_, err := BehaviourByName("sneaky", 1)
	if !errors.Is(err, ErrUnknownBehaviour) {
		t.Errorf("BehaviourByName(sneaky) = %v, want ErrUnknownBehaviour", err)
	}
}

// dir is the arena input (dx, dy) under the test schema.
func dir(dx, dy int64) Input { return Input{Values: [MaxInputValues]int64{dx, dy}} }

// Move sets the fields named dx and dy wherever the schema puts them, and
// stands still under a schema without them.
func TestMoveFollowsTheSchema(t *testing.T) {
	sch, err := NewSchema(&tickwirev1.Schema{InputFields: []*tickwirev1.FieldSpec{
		{Name: "fire", Type: tickwirev1.FieldType_FIELD_TYPE_BOOL},
		{Name: "dy", Type: tickwirev1.FieldType_FIELD_TYPE_INT},
		{Name: "dx", Type: tickwirev1.FieldType_FIELD_TYPE_INT},
	}})
	if err != nil {
		t.Fatal(err)
	}
	var m Mirror
	m.SetSchema(sch)
	if got, want := Move(&m, 1, -1), (Input{Values: [MaxInputValues]int64{0, -1, 1}}); got != want {
		t.Errorf("Move = %v, want %v", got, want)
	}
	none, _ := NewSchema(&tickwirev1.Schema{})
	m.SetSchema(none)
	if got := Move(&m, 1, 1); got != (Input{}) {
		t.Errorf("Move without dx and dy = %v, want the neutral input", got)
	}
	if got := Move(nil, 1, 1); got != (Input{}) {
		t.Errorf("Move without a mirror = %v, want the neutral input", got)
	}
}
