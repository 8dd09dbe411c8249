package bots

import (
	"errors"
	"testing"
	"time"
)

// mirrorWith returns a synced mirror whose own avatar (entity 1) is at
// (x, y), with the given other entities.
func mirrorWith(t *testing.T, x, y int32, others ...Entity) *Mirror {
	t.Helper()
	s := State{
		Tick:     1,
		Entities: append([]Entity{{ID: 1, Kind: KindAvatar, X: x, Y: y}}, others...),
		Players:  []Player{{ID: 1, EntityID: 1}},
	}
	var m Mirror
	m.SetSelf(1, 1)
	if err := m.ApplySnapshot(snapshotOf(s)); err != nil {
		t.Fatal(err)
	}
	return &m
}

func TestChaseHeadsForNearestOrb(t *testing.T) {
	orb := func(id uint32, x, y int32) Entity { return Entity{ID: id, Kind: KindOrb, X: x, Y: y} }
	tests := []struct {
		name   string
		others []Entity
		want   Input
	}{
		{"north-east", []Entity{orb(2, 9000, 9000)}, Input{DX: 1, DY: 1}},
		{"south-west", []Entity{orb(2, 1000, 2000)}, Input{DX: -1, DY: -1}},
		{"straight west, level within half a step", []Entity{orb(2, 100, 8030)}, Input{DX: -1}},
		{"nearest of several", []Entity{orb(2, 16000, 16000), orb(3, 8000, 7000), orb(4, 0, 0)}, Input{DY: -1}},
		{"ignores avatars", []Entity{{ID: 2, Kind: KindAvatar, X: 8100, Y: 8000}, orb(3, 8000, 12000)}, Input{DY: 1}},
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
	x, y := int32(1000), int32(15000)
	o := Entity{ID: 2, Kind: KindOrb, X: 9000, Y: 3000}
	for tick := range 1000 {
		m := mirrorWith(t, x, y, o)
		in := (Chase{}).Next(m, time.Time{})
		x, y = x+in.DX*step, y+in.DY*step
		dx, dy := int64(o.X-x), int64(o.Y-y)
		if dx*dx+dy*dy <= touch*touch {
			return
		}
		if in == (Input{}) {
			t.Fatalf("tick %d: standing still at (%d, %d), orb at (%d, %d)", tick, x, y, o.X, o.Y)
		}
	}
	t.Fatalf("never reached the orb: at (%d, %d)", x, y)
}

func TestRandomWalk(t *testing.T) {
	r := NewRandom(42)
	start := time.Unix(1000, 0)
	var changes, still int
	prev := Input{DX: 9}
	const inputs = 600 // a minute at 10 Hz
	for i := range inputs {
		in := r.Next(nil, start.Add(time.Duration(i)*100*time.Millisecond))
		if in.DX < -1 || in.DX > 1 || in.DY < -1 || in.DY > 1 || in.Buttons != 0 {
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
		if x, y := a.Next(nil, now), b.Next(nil, now); x != y {
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
