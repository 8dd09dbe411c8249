package bots

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/tickwire/tickwire/proto/tickwirev1"
)

const (
	mX     = uint32(tickwirev1.FieldMask_FIELD_MASK_X)
	mY     = uint32(tickwirev1.FieldMask_FIELD_MASK_Y)
	mAngle = uint32(tickwirev1.FieldMask_FIELD_MASK_ANGLE)
	mKind  = uint32(tickwirev1.FieldMask_FIELD_MASK_KIND)
	mValue = uint32(tickwirev1.FieldMask_FIELD_MASK_VALUE)

	running = tickwirev1.MatchPhase_MATCH_PHASE_RUNNING
	ended   = tickwirev1.MatchPhase_MATCH_PHASE_ENDED
)

// baseState is the state every delta case starts from: the mirror's own
// player is 1, controlling entity 1.
func baseState() State {
	ents := []Entity{
		{ID: 1, Kind: KindAvatar, X: 100, Y: 200},
		{ID: 2, Kind: KindOrb, X: 300, Y: 400},
		{ID: 3, Kind: KindOrb, X: 500, Y: 600},
		{ID: 5, Kind: KindAvatar, X: 700, Y: 800, Angle: 32},
	}
	players := []Player{
		{ID: 1, Name: "ann", EntityID: 1},
		{ID: 2, Name: "bob", EntityID: 5, Score: 4},
	}
	return State{Tick: 10, Phase: running, EndTick: 500, LastInputSeq: 3, Entities: ents, Players: players,
		Checksum: Checksum(ents, players)}
}

// snapshotOf encodes a state as the server would, with its checksum.
func snapshotOf(s State) *tickwirev1.Snapshot {
	snap := &tickwirev1.Snapshot{
		Tick: s.Tick, Phase: s.Phase, EndTick: s.EndTick, LastInputSeq: s.LastInputSeq,
		Checksum: Checksum(s.Entities, s.Players),
	}
	for _, e := range s.Entities {
		snap.EntityIds = append(snap.EntityIds, e.ID)
		snap.Kinds = append(snap.Kinds, e.Kind)
		snap.X = append(snap.X, e.X)
		snap.Y = append(snap.Y, e.Y)
		snap.Angle = append(snap.Angle, e.Angle)
		snap.Value = append(snap.Value, e.Value)
	}
	for _, p := range s.Players {
		snap.Players = append(snap.Players, &tickwirev1.Player{Id: p.ID, Name: p.Name, EntityId: p.EntityID, Score: p.Score})
	}
	return snap
}

func syncedMirror(t *testing.T) *Mirror {
	t.Helper()
	var m Mirror
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
			name: "per-entity masks",
			delta: &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
				IdGaps: []uint32{1, 2}, // entities 1 and 3
				Masks:  []uint32{mX | mY, mAngle | mValue},
				Dx:     []int32{16}, Dy: []int32{-16}, Angle: []uint32{64}, Value: []int32{7},
			}},
			want: func(s *State) {
				s.Entities[0].X, s.Entities[0].Y = 116, 184
				s.Entities[2].Angle, s.Entities[2].Value = 64, 7
			},
		},
		{
			name: "single mask for every listed entity",
			delta: &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
				IdGaps: []uint32{2, 1, 2}, // entities 2, 3, 5
				Masks:  []uint32{mX},
				Dx:     []int32{1, -2, 3},
			}},
			want: func(s *State) {
				s.Entities[1].X += 1
				s.Entities[2].X -= 2
				s.Entities[3].X += 3
			},
		},
		{
			name: "all entities",
			delta: &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
				All:   true,
				Masks: []uint32{mX | mY},
				Dx:    []int32{1, 2, 3, 4}, Dy: []int32{-1, -2, -3, -4},
			}},
			want: func(s *State) {
				for i := range s.Entities {
					s.Entities[i].X += int32(i + 1)
					s.Entities[i].Y -= int32(i + 1)
				}
			},
		},
		{
			name: "all with per-entity masks after a removal",
			delta: &tickwirev1.Delta{
				Removed: []uint32{2},
				Updates: &tickwirev1.EntityUpdates{
					All:   true,
					Masks: []uint32{mKind, 0, mY},
					Kinds: []uint32{9}, Dy: []int32{80},
				},
			},
			want: func(s *State) {
				s.Entities = slices.Delete(s.Entities, 1, 2) // 1, 3, 5 remain
				s.Entities[0].Kind = 9
				s.Entities[2].Y += 80
			},
		},
		{
			name: "created at the end and in a gap",
			delta: &tickwirev1.Delta{Created: &tickwirev1.EntityColumns{
				Ids: []uint32{4, 6}, Kinds: []uint32{KindOrb, KindAvatar},
				X: []int32{-5, 16000}, Y: []int32{0, 7}, Angle: []uint32{0, 128}, Value: []int32{0, -3},
			}},
			want: func(s *State) {
				s.Entities = slices.Insert(s.Entities, 3, Entity{ID: 4, Kind: KindOrb, X: -5})
				s.Entities = append(s.Entities, Entity{ID: 6, Kind: KindAvatar, X: 16000, Y: 7, Angle: 128, Value: -3})
			},
		},
		{
			name: "remove, update, create",
			delta: &tickwirev1.Delta{
				Removed: []uint32{1, 5},
				Updates: &tickwirev1.EntityUpdates{IdGaps: []uint32{3}, Masks: []uint32{mX}, Dx: []int32{-100}},
				Created: &tickwirev1.EntityColumns{
					Ids: []uint32{7}, Kinds: []uint32{KindAvatar}, X: []int32{1}, Y: []int32{2}, Angle: []uint32{3}, Value: []int32{4},
				},
			},
			want: func(s *State) {
				s.Entities = []Entity{s.Entities[1], s.Entities[2], {ID: 7, Kind: KindAvatar, X: 1, Y: 2, Angle: 3, Value: 4}}
				s.Entities[1].X -= 100
			},
		},
		{
			name: "players leave, join and score",
			delta: &tickwirev1.Delta{
				PlayersLeft:   []uint32{2},
				PlayersJoined: []*tickwirev1.Player{{Id: 3, Name: "cy", EntityId: 5, Score: 1}},
				ScorePlayers:  []uint32{1, 3},
				Scores:        []int64{10, 1 << 40},
			},
			want: func(s *State) {
				s.Players[0].Score = 10
				s.Players[1] = Player{ID: 3, Name: "cy", EntityID: 5, Score: 1 << 40}
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
			want.Checksum = Checksum(want.Entities, want.Players)

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

func TestMirrorRefusesBadDeltas(t *testing.T) {
	cols := func(ids ...uint32) *tickwirev1.EntityColumns {
		n := len(ids)
		return &tickwirev1.EntityColumns{Ids: ids, Kinds: make([]uint32, n), X: make([]int32, n),
			Y: make([]int32, n), Angle: make([]uint32, n), Value: make([]int32, n)}
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
			IdGaps: []uint32{4}, Masks: []uint32{mX}, Dx: []int32{1}}}, ErrMalformed},
		{"update removed", &tickwirev1.Delta{Removed: []uint32{2}, Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{2}, Masks: []uint32{mX}, Dx: []int32{1}}}, ErrMalformed},
		{"update id gap zero", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{1, 0}, Masks: []uint32{mX}, Dx: []int32{1, 1}}}, ErrMalformed},
		{"update id overflow", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{5, 1<<32 - 4}, Masks: []uint32{mX}, Dx: []int32{1, 1}}}, ErrMalformed},
		{"column too short", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{1, 1}, Masks: []uint32{mX | mY}, Dx: []int32{1, 1}, Dy: []int32{1}}}, ErrMalformed},
		{"column too long", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{1}, Masks: []uint32{mAngle}, Angle: []uint32{1, 2}}}, ErrMalformed},
		{"column without mask", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{1}, Masks: []uint32{mX}, Dx: []int32{1}, Kinds: []uint32{3}}}, ErrMalformed},
		{"masks count", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{1, 1, 1}, Masks: []uint32{mX, mX}, Dx: []int32{1, 1, 1}}}, ErrMalformed},
		{"no masks", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{IdGaps: []uint32{1}}}, ErrMalformed},
		{"unknown mask bit", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{1}, Masks: []uint32{32}}}, ErrMalformed},
		{"all with ids", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			All: true, IdGaps: []uint32{1}, Masks: []uint32{0}}}, ErrMalformed},
		{"all with too few values", &tickwirev1.Delta{Updates: &tickwirev1.EntityUpdates{
			All: true, Masks: []uint32{mValue}, Value: []int32{1, 2, 3}}}, ErrMalformed},
		{"duplicate create of existing", &tickwirev1.Delta{Created: cols(3)}, ErrMalformed},
		{"duplicate create in frame", &tickwirev1.Delta{Created: cols(4, 4)}, ErrMalformed},
		{"created columns unequal", &tickwirev1.Delta{Created: &tickwirev1.EntityColumns{
			Ids: []uint32{9}, Kinds: []uint32{1}, X: []int32{1}, Y: []int32{1}, Angle: []uint32{1}}}, ErrMalformed},
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
		{"short column", func(s *tickwirev1.Snapshot) { s.Value = s.Value[:1] }, ErrMalformed},
		{"ids not ascending", func(s *tickwirev1.Snapshot) { s.EntityIds[0], s.EntityIds[1] = 2, 1 }, ErrMalformed},
		{"duplicate player", func(s *tickwirev1.Snapshot) { s.Players[1].Id = 1 }, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := snapshotOf(good)
			tc.mangle(s)
			var m Mirror
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
