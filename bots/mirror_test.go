package bots

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// baseState is the state every delta case starts from: the mirror's own
// player is 1, controlling entity 1.
func baseState() State {
	ents := []Entity{av(1, 100, 200, 0, "ann"), orb(2, 300, 400), orb(3, 500, 600), av(5, 700, 800, 32, "bob")}
	players := []Player{player(1, "ann", 1, 0, 0), player(2, "bob", 5, 4, 1)}
	s := State{Tick: 10, Phase: running, EndTick: 500, LastInputSeq: 3, Entities: ents, Players: players, Room: room(1)}
	s.Checksum = sum(s)
	return s
}

func syncedMirror(t *testing.T) *Mirror {
	t.Helper()
	var m Mirror
	m.SetSchema(testSchema)
	m.SetSelf(1, 1)
	if err := m.ApplySnapshot(snapshotOf(baseState())); err != nil {
		t.Fatalf("apply base snapshot: %v", err)
	}
	return &m
}

func TestMirrorApplyDelta(t *testing.T) {
	tests := []struct {
		name  string
		delta *tickwirev1.Delta // Tick 11 and BaseTick 10 unless set
		want  func(s *State)    // turns a copy of baseState into the expected state
	}{
		{
			name:  "empty",
			delta: &tickwirev1.Delta{},
			want:  func(*State) {},
		},
		{
			name: "per-entity masks, values column by column",
			delta: &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
				IdGaps: []uint32{1, 2}, // entities 1 and 3
				Masks:  []uint64{mX | mY, mX},
				Values: []uint64{zz(16), zz(-4), zz(-16)}, // bit 0 of 1 and 3, then bit 1 of 1
			}},
			want: func(s *State) {
				s.Entities[0].Values[0], s.Entities[0].Values[1] = 116, 184
				s.Entities[2].Values[0] = 496
			},
		},
		{
			name: "single mask for every listed entity",
			delta: &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
				IdGaps: []uint32{2, 1, 2}, // entities 2, 3, 5
				Masks:  []uint64{mX},
				Values: []uint64{zz(1), zz(-2), zz(3)},
			}},
			want: func(s *State) {
				s.Entities[1].Values[0] += 1
				s.Entities[2].Values[0] -= 2
				s.Entities[3].Values[0] += 3
			},
		},
		{
			name: "all entities",
			delta: &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
				All:    true,
				Masks:  []uint64{mX | mY},
				Values: []uint64{zz(1), zz(2), zz(3), zz(4), zz(-1), zz(-2), zz(-3), zz(-4)},
			}},
			want: func(s *State) {
				for i := range s.Entities {
					s.Entities[i].Values[0] += int64(i + 1)
					s.Entities[i].Values[1] -= int64(i + 1)
				}
			},
		},
		{
			name: "all with per-entity masks after a removal, angles absolute, texts",
			delta: &tickwirev1.Delta{
				Removed: []uint32{2},
				Updates: &tickwirev1.EntityUpdates{
					All:    true,
					Masks:  []uint64{mHeading | mTag, 0, mY}, // entities 1, 3, 5
					Values: []uint64{zz(80), 64},             // bit 1 of 5, then bit 2 of 1
					Texts:  []string{"zed"},
				},
			},
			want: func(s *State) {
				s.Entities = slices.Delete(s.Entities, 1, 2) // 1, 3, 5 remain
				s.Entities[0].Values[2], s.Entities[0].Texts[3] = 64, "zed"
				s.Entities[2].Values[1] += 80
			},
		},
		{
			name: "created at the end and in a gap",
			delta: &tickwirev1.Delta{Created: &tickwirev1.EntityColumns{
				Ids: []uint32{4, 6}, Kinds: []uint32{KindOrb, KindAvatar},
				Values: []uint64{zz(-5), zz(16000), zz(0), zz(7), 128}, Texts: []string{"new"},
			}},
			want: func(s *State) {
				s.Entities = slices.Insert(s.Entities, 3, orb(4, -5, 0))
				s.Entities = append(s.Entities, av(6, 16000, 7, 128, "new"))
			},
		},
		{
			name: "remove, update, create",
			delta: &tickwirev1.Delta{
				Removed: []uint32{1, 5},
				Updates: &tickwirev1.EntityUpdates{IdGaps: []uint32{3}, Masks: []uint64{mX}, Values: []uint64{zz(-100)}},
				Created: &tickwirev1.EntityColumns{
					Ids: []uint32{7}, Kinds: []uint32{KindAvatar}, Values: []uint64{zz(1), zz(2), 3}, Texts: []string{"cy"},
				},
			},
			want: func(s *State) {
				s.Entities = []Entity{s.Entities[1], s.Entities[2], av(7, 1, 2, 3, "cy")}
				s.Entities[1].Values[0] -= 100
			},
		},
		{
			name: "players leave, join and score",
			delta: &tickwirev1.Delta{
				PlayersLeft:   []uint32{2},
				PlayersJoined: []*tickwirev1.Player{{Id: 3, Name: "cy", EntityId: 5, Score: 1, Values: []uint64{1}}},
				ScorePlayers:  []uint32{1, 3},
				Scores:        []int64{10, 1 << 40},
			},
			want: func(s *State) {
				s.Players[0].Score = 10
				s.Players[1] = player(3, "cy", 5, 1<<40, 1)
			},
		},
		{
			name: "player and room fields",
			delta: &tickwirev1.Delta{
				PlayerUpdates: &tickwirev1.EntityUpdates{IdGaps: []uint32{1}, Masks: []uint64{1}, Values: []uint64{1}},
				Room:          &tickwirev1.FieldValues{Mask: 1, Values: []uint64{zz(-3)}},
			},
			want: func(s *State) {
				s.Players[0].Values[0] = 1
				s.Room.Values[0] = -2
			},
		},
		{
			name:  "acks for this player and another",
			delta: &tickwirev1.Delta{AckPlayers: []uint32{2, 1}, AckSeqs: []uint32{50, 9}},
			want:  func(s *State) { s.LastInputSeq = 9 },
		},
		{
			name:  "phase change",
			delta: &tickwirev1.Delta{Phase: ended, EndTick: 11},
			want:  func(s *State) { s.Phase, s.EndTick = ended, 11 },
		},
		{
			name:  "catch-up delta skipping ticks",
			delta: &tickwirev1.Delta{Tick: 15, BaseTick: 10, ScorePlayers: []uint32{2}, Scores: []int64{5}},
			want:  func(s *State) { s.Tick = 15; s.Players[1].Score = 5 },
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := syncedMirror(t)
			want := baseState()
			want.Tick = 11
			tc.want(&want)
			want.Checksum = sum(want)

			d := tc.delta
			if d.Tick == 0 {
				d.Tick, d.BaseTick = 11, 10
			}
			d.Checksum = want.Checksum
			if err := m.ApplyDelta(d); err != nil {
				t.Fatalf("ApplyDelta: %v", err)
			}
			if !m.Synced() {
				t.Error("mirror not synced after a good delta")
			}
			if got := m.State(); !reflect.DeepEqual(got, want) {
				t.Errorf("state after delta:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

// The reference encoder of these tests and the mirror agree on a sequence of
// changes of every kind.
func TestMirrorFollowsDeltaOf(t *testing.T) {
	m := syncedMirror(t)
	prev := baseState()
	cur := baseState()
	cur.Tick = 11
	cur.Entities[0].Values[0] += 5
	cur.Entities[3].Texts[3] = "bobby"
	cur.Entities = append(cur.Entities, av(9, 1, 1, 255, "new"))
	cur.Players[1].Values[0] = 0
	cur.Room.Values[0] = 7
	if err := m.ApplyDelta(deltaOf(prev, cur)); err != nil {
		t.Fatal(err)
	}
	cur.LastInputSeq = m.State().LastInputSeq
	cur.Checksum = sum(cur)
	if got := m.State(); !reflect.DeepEqual(got, cur) {
		t.Errorf("state:\n got %+v\nwant %+v", got, cur)
	}
}

func TestMirrorRefusesBadDeltas(t *testing.T) {
	cols := func(ids ...uint32) *tickwirev1.EntityColumns {
		var ents []Entity
		for _, id := range ids {
			ents = append(ents, orb(id, 0, 0))
		}
		return entityColumns(ents)
	}
	tests := []struct {
		name  string
		delta *tickwirev1.Delta
		want  error
	}{
		{"base tick behind", &tickwirev1.Delta{Tick: 10, BaseTick: 9}, ErrBaseTick},
		{"base tick ahead", &tickwirev1.Delta{Tick: 12, BaseTick: 11}, ErrBaseTick},
		{"tick not after base", &tickwirev1.Delta{Tick: 10, BaseTick: 10}, ErrMalformed},
		{"checksum", &tickwirev1.Delta{Checksum: 1}, ErrChecksum},
		{"remove unknown", &tickwirev1.Delta{Removed: []uint32{4}}, ErrMalformed},
		{"update unknown", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{4}, Masks: []uint64{mX}, Values: []uint64{1}}}, ErrMalformed},
		{"update removed", &tickwirev1.Delta{Removed: []uint32{2}, Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{2}, Masks: []uint64{mX}, Values: []uint64{1}}}, ErrMalformed},
		{"update id gap zero", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{1, 0}, Masks: []uint64{mX}, Values: []uint64{1, 1}}}, ErrMalformed},
		{"update id overflow", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{5, 1<<32 - 4}, Masks: []uint64{mX}, Values: []uint64{1, 1}}}, ErrMalformed},
		{"values too short", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{1, 1}, Masks: []uint64{mX | mY}, Values: []uint64{1, 1, 1}}}, ErrMalformed},
		{"values too long", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{1}, Masks: []uint64{mHeading}, Values: []uint64{1, 2}}}, ErrMalformed},
		{"texts without a text bit", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{1}, Masks: []uint64{mX}, Values: []uint64{1}, Texts: []string{"x"}}}, ErrMalformed},
		{"text bit without a text", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{1}, Masks: []uint64{mTag}}}, ErrMalformed},
		{"masks count", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{1, 1, 1}, Masks: []uint64{mX, mX}, Values: []uint64{1, 1, 1}}}, ErrMalformed},
		{"no masks", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{IdGaps: []uint32{1}}}, ErrMalformed},
		{"mask bit past the kind", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{2}, Masks: []uint64{mHeading}, Values: []uint64{1}}}, ErrMalformed}, // orbs have no heading
		{"all with ids", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			All: true, IdGaps: []uint32{1}, Masks: []uint64{0}}}, ErrMalformed},
		{"all with too few values", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			All: true, Masks: []uint64{mX}, Values: []uint64{1, 2, 3}}}, ErrMalformed},
		{"player update of unknown player", &tickwirev1.Delta{PlayerUpdates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{9}, Masks: []uint64{1}, Values: []uint64{1}}}, ErrMalformed},
		{"player update past the fields", &tickwirev1.Delta{PlayerUpdates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{1}, Masks: []uint64{2}, Values: []uint64{1}}}, ErrMalformed},
		{"room mask past the fields", &tickwirev1.Delta{Room: &tickwirev1.FieldValues{Mask: 2, Values: []uint64{1}}}, ErrMalformed},
		{"room values too long", &tickwirev1.Delta{Room: &tickwirev1.FieldValues{Mask: 1, Values: []uint64{1, 2}}}, ErrMalformed},
		{"duplicate create of existing", &tickwirev1.Delta{Created: cols(3)}, ErrMalformed},
		{"duplicate create in frame", &tickwirev1.Delta{Created: cols(4, 4)}, ErrMalformed},
		{"created values short", &tickwirev1.Delta{Created: &tickwirev1.EntityColumns{
			Ids: []uint32{9}, Kinds: []uint32{KindAvatar}, Values: []uint64{1, 1, 1}}}, ErrMalformed}, // no tag
		{"created of unknown kind", &tickwirev1.Delta{Created: &tickwirev1.EntityColumns{
			Ids: []uint32{9}, Kinds: []uint32{3}}}, ErrMalformed},
		{"joined player without its fields", &tickwirev1.Delta{PlayersJoined: []*tickwirev1.Player{{Id: 9}}}, ErrMalformed},
		{"unknown player left", &tickwirev1.Delta{PlayersLeft: []uint32{9}}, ErrMalformed},
		{"player joined twice", &tickwirev1.Delta{PlayersJoined: []*tickwirev1.Player{{Id: 2}}}, ErrMalformed},
		{"score of unknown player", &tickwirev1.Delta{ScorePlayers: []uint32{9}, Scores: []int64{1}}, ErrMalformed},
		{"score of player who left", &tickwirev1.Delta{PlayersLeft: []uint32{2}, ScorePlayers: []uint32{2}, Scores: []int64{1}}, ErrMalformed},
		{"scores count", &tickwirev1.Delta{ScorePlayers: []uint32{1, 2}, Scores: []int64{1}}, ErrMalformed},
		{"acks count", &tickwirev1.Delta{AckPlayers: []uint32{1}}, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := syncedMirror(t)
			d := tc.delta
			if d.Tick == 0 && d.BaseTick == 0 {
				d.Tick, d.BaseTick = 11, 10
			}
			err := m.ApplyDelta(d)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ApplyDelta = %v, want %v", err, tc.want)
			}
			if m.Synced() {
				t.Fatal("mirror still synced after a refused delta")
			}
			// Nothing applies until a snapshot arrives, which restores sync.
			if err := m.ApplyDelta(&tickwirev1.Delta{Tick: m.Tick() + 1, BaseTick: m.Tick()}); !errors.Is(err, ErrNotSynced) {
				t.Fatalf("next delta = %v, want ErrNotSynced", err)
			}
			want := baseState()
			want.Tick = 20
			if err := m.ApplySnapshot(snapshotOf(want)); err != nil {
				t.Fatalf("resync snapshot: %v", err)
			}
			if got := m.State(); !reflect.DeepEqual(got, want) {
				t.Errorf("state after resync:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestMirrorApplySnapshot(t *testing.T) {
	good := baseState()
	tests := []struct {
		name   string
		mangle func(s *tickwirev1.Snapshot)
		want   error
	}{
		{"good", func(*tickwirev1.Snapshot) {}, nil},
		{"players in any order", func(s *tickwirev1.Snapshot) { slices.Reverse(s.Players) }, nil},
		{"checksum", func(s *tickwirev1.Snapshot) { s.Checksum++ }, ErrChecksum},
		{"short column", func(s *tickwirev1.Snapshot) { s.Entities.Values = s.Entities.Values[:5] }, ErrMalformed},
		{"long column", func(s *tickwirev1.Snapshot) { s.Entities.Texts = append(s.Entities.Texts, "x") }, ErrMalformed},
		{"kinds short", func(s *tickwirev1.Snapshot) { s.Entities.Kinds = s.Entities.Kinds[:1] }, ErrMalformed},
		{"ids not ascending", func(s *tickwirev1.Snapshot) { s.Entities.Ids[1], s.Entities.Ids[2] = 3, 2 }, ErrMalformed},
		{"room short", func(s *tickwirev1.Snapshot) { s.Room.Values = nil }, ErrMalformed},
		{"player fields short", func(s *tickwirev1.Snapshot) { s.Players[0].Values = nil }, ErrMalformed},
		{"duplicate player", func(s *tickwirev1.Snapshot) { s.Players[1].Id = 1 }, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := snapshotOf(good)
			tc.mangle(s)
			var m Mirror
			m.SetSchema(testSchema)
			m.SetSelf(1, 1)
			err := m.ApplySnapshot(s)
			if !errors.Is(err, tc.want) {
				t.Fatalf("ApplySnapshot = %v, want %v", err, tc.want)
			}
			if m.Synced() != (tc.want == nil) {
				t.Errorf("Synced = %v after ApplySnapshot = %v", m.Synced(), err)
			}
			if tc.want == nil && !reflect.DeepEqual(m.State(), good) {
				t.Errorf("state:\n got %+v\nwant %+v", m.State(), good)
			}
		})
	}
	var m Mirror
	if err := m.ApplySnapshot(snapshotOf(good)); !errors.Is(err, ErrNotSynced) {
		t.Errorf("snapshot before the schema = %v, want ErrNotSynced", err)
	}
	m.SetSchema(testSchema)
	if err := m.ApplySnapshot(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("ApplySnapshot(nil) = %v, want ErrMalformed", err)
	}
	if err := m.ApplyDelta(&tickwirev1.Delta{Tick: 1}); !errors.Is(err, ErrNotSynced) {
		t.Errorf("delta before any snapshot = %v, want ErrNotSynced", err)
	}
}

func TestMirrorSelf(t *testing.T) {
	m := syncedMirror(t)
	if m.PlayerID() != 1 || m.EntityID() != 1 {
		t.Fatalf("self = player %d entity %d, want 1, 1", m.PlayerID(), m.EntityID())
	}
	// The player record wins over the welcome's entity id, e.g. after a respawn.
	s := baseState()
	s.Players[0].EntityID = 3
	if err := m.ApplySnapshot(snapshotOf(s)); err != nil {
		t.Fatal(err)
	}
	if m.EntityID() != 3 {
		t.Errorf("EntityID = %d, want 3 from the player record", m.EntityID())
	}
	if e, ok := m.Entity(3); !ok || e.Kind != KindOrb {
		t.Errorf("Entity(3) = %+v, %v", e, ok)
	}
	if _, ok := m.Entity(4); ok {
		t.Error("Entity(4) found, want missing")
	}
	if p, ok := m.Player(2); !ok || p.Name != "bob" {
		t.Errorf("Player(2) = %+v, %v", p, ok)
	}
}
