package game

import (
	"testing"
)

// script is a deterministic sequence of joins, leaves and inputs per tick.
func runScript(seed uint64, ticks int) (*Sim, []uint32) {
	s := NewSim(NewArena(ArenaConfig{}), Rules{MaxPlayers: 4, MinPlayers: 2}, seed)
	var sums []uint32
	var seq [5]uint32
	for t := 1; t <= ticks; t++ {
		switch t {
		case 3, 4, 5:
			if _, err := s.AddPlayer("p"); err != nil {
				panic(err)
			}
		case 60:
			s.RemovePlayer(2)
		}
		var in []PlayerInput
		for _, p := range s.World().Players() {
			if (t+int(p.ID))%7 == 0 {
				seq[p.ID]++
				in = append(in, PlayerInput{Player: p.ID, Input: Input{Seq: seq[p.ID], DX: int32(t%3) - 1, DY: int32(p.ID%3) - 1}})
			}
		}
		s.Advance(uint64(t), in)
		sums = append(sums, s.World().Checksum())
	}
	return s, sums
}

func TestSimDeterministic(t *testing.T) {
	a, sa := runScript(42, 400)
	b, sb := runScript(42, 400)
	for i := range sa {
		if sa[i] != sb[i] {
			t.Fatalf("tick %d: checksums differ: %08x vs %08x", i+1, sa[i], sb[i])
		}
	}
	pa, pb := a.World().Players(), b.World().Players()
	if len(pa) != len(pb) {
		t.Fatalf("player counts differ: %d vs %d", len(pa), len(pb))
	}
	var total int64
	for i := range pa {
		if pa[i].Score != pb[i].Score {
			t.Fatalf("player %d score %d vs %d", pa[i].ID, pa[i].Score, pb[i].Score)
		}
		total += pa[i].Score
	}
	if total == 0 {
		t.Fatal("no player scored in 400 ticks; pickups are not working")
	}
	_, sc := runScript(43, 400)
	if sc[len(sc)-1] == sa[len(sa)-1] {
		t.Fatal("a different seed reached the same state")
	}
}

// recorder is a Game that records the inputs it is given.
type recorder struct {
	Arena
	got []Input
}

func (r *recorder) ApplyInput(w *World, p *Player, in Input) { r.got = append(r.got, in) }

func TestSimInputOrderAndStaleSeqs(t *testing.T) {
	g := &recorder{Arena: *NewArena(ArenaConfig{NPCs: -1})}
	s := NewSim(g, Rules{}, 1)
	p, _ := s.AddPlayer("a")
	s.Advance(1, []PlayerInput{
		{Player: p.ID, Input: Input{Seq: 3}},
		{Player: p.ID, Input: Input{Seq: 1}},
		{Player: p.ID, Input: Input{Seq: 2}},
		{Player: p.ID, Input: Input{Seq: 2}}, // duplicate
		{Player: 99, Input: Input{Seq: 9}},   // unknown player
	})
	s.Advance(2, []PlayerInput{
		{Player: p.ID, Input: Input{Seq: 3}}, // already applied
		{Player: p.ID, Input: Input{Seq: 1}}, // stale
		{Player: p.ID, Input: Input{Seq: 5}},
	})
	var seqs []uint32
	for _, in := range g.got {
		seqs = append(seqs, in.Seq)
	}
	want := []uint32{1, 2, 3, 5}
	if len(seqs) != len(want) {
		t.Fatalf("applied seqs %v, want %v", seqs, want)
	}
	for i := range want {
		if seqs[i] != want[i] {
			t.Fatalf("applied seqs %v, want %v", seqs, want)
		}
	}
	if p.LastSeq != 5 {
		t.Fatalf("LastSeq = %d, want 5", p.LastSeq)
	}
}

func TestSimLifecycle(t *testing.T) {
	tests := []struct {
		name   string
		rules  Rules
		arena  ArenaConfig
		reason EndReason
	}{
		{"time limit", Rules{MinPlayers: 2, DurationTicks: 50}, ArenaConfig{PickupOdds: -1, TouchRadius: -1}, EndTimeLimit},
		{"score limit", Rules{MinPlayers: 2, ScoreLimit: 3}, ArenaConfig{PickupOdds: 1}, EndScoreLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSim(NewArena(tc.arena), tc.rules, 7)
			a, _ := s.AddPlayer("a")
			s.Advance(1, nil)
			if ph := s.World().Phase(); ph != PhaseWaiting {
				t.Fatalf("phase with 1 of 2 players = %v, want waiting", ph)
			}
			if a.Score != 0 {
				t.Fatalf("score changed while waiting: %d", a.Score)
			}
			if _, err := s.AddPlayer("b"); err != nil {
				t.Fatal(err)
			}
			tick := uint64(2)
			for ; tick < 1000 && !s.Advance(tick, nil); tick++ {
				if tick == 2 && s.World().Phase() != PhaseRunning {
					t.Fatalf("phase after second join = %v, want running", s.World().Phase())
				}
			}
			r := s.Result()
			if r == nil || r.Reason != tc.reason {
				t.Fatalf("result %+v, want reason %v", r, tc.reason)
			}
			if tc.reason == EndTimeLimit && r.Tick != 2+50 {
				t.Fatalf("ended at tick %d, want 52", r.Tick)
			}
			if tc.reason == EndScoreLimit && r.Standings[0].Score < 3 {
				t.Fatalf("winner has %d, below the limit", r.Standings[0].Score)
			}
			if _, err := s.AddPlayer("late"); err != ErrMatchEnded {
				t.Fatalf("join after end: err = %v, want ErrMatchEnded", err)
			}
		})
	}
}

func TestSimRoomFullAndAbandoned(t *testing.T) {
	s := NewSim(NewArena(ArenaConfig{}), Rules{MaxPlayers: 2}, 1)
	a, _ := s.AddPlayer("a")
	b, _ := s.AddPlayer("b")
	if _, err := s.AddPlayer("c"); err != ErrRoomFull {
		t.Fatalf("third join: err = %v, want ErrRoomFull", err)
	}
	s.Advance(1, nil)
	s.RemovePlayer(a.ID)
	s.RemovePlayer(b.ID)
	if !s.Advance(2, nil) || s.Result().Reason != EndAbandoned {
		t.Fatalf("empty running room did not end as abandoned: %+v", s.Result())
	}
	if n := len(s.World().Entities()); n != 48 {
		t.Fatalf("%d entities after players left, want the 48 orbs", n)
	}
}

func TestStandingsShareRanks(t *testing.T) {
	got := standings([]*Player{{ID: 1, Score: 5}, {ID: 2, Score: 9}, {ID: 3, Score: 5}, {ID: 4, Score: 1}})
	want := []Standing{{Player: 2, Score: 9, Rank: 1}, {Player: 1, Score: 5, Rank: 2}, {Player: 3, Score: 5, Rank: 2}, {Player: 4, Score: 1, Rank: 4}}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("standings %+v, want %+v", got, want)
		}
	}
}

func TestChecksumWorkedExample(t *testing.T) {
	// The worked example in PROTOCOL.md; the expected value was computed
	// independently from the byte string listed there.
	ents := []Entity{{ID: 1, Kind: 2, X: 160, Y: -16, Angle: 64, Value: 0}}
	players := []*Player{{ID: 1, Score: 3}}
	if got := Checksum(ents, players); got != 0xf81c71d7 {
		t.Fatalf("checksum = %08x, want f81c71d7", got)
	}
	if got := Checksum(nil, nil); got != 0x811c9dc5 {
		t.Fatalf("checksum of empty state = %08x, want the FNV offset basis 811c9dc5", got)
	}
}

func TestSimStartsAfterWaitingBound(t *testing.T) {
	s := NewSim(NewArena(ArenaConfig{}), Rules{MinPlayers: 4, StartAfterTicks: 10}, 1)
	if _, err := s.AddPlayer("early"); err != nil {
		t.Fatal(err)
	}
	for tick := uint64(1); tick <= 10; tick++ {
		s.Advance(tick, nil)
		if s.World().Phase() != PhaseWaiting {
			t.Fatalf("started at tick %d with 1 of 4 players, before the 10-tick bound", tick)
		}
	}
	s.Advance(11, nil)
	if s.World().Phase() != PhaseRunning {
		t.Fatalf("phase %v after waiting 10 ticks, want running", s.World().Phase())
	}
}
