package game_test

import (
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
	"testing"
)

// script is a deterministic sequence of joins, leaves and inputs per tick.
func runScript(seed uint64, ticks int) (*game.Sim, []uint32) {
	s := newSim(arena.New(arena.Config{}), game.Rules{MaxPlayers: 4, MinPlayers: 2}, seed)
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
		var in []game.PlayerInput
		for _, p := range s.World().Players() {
			if (t+int(p.ID))%7 == 0 {
				seq[p.ID]++
				in = append(in, game.PlayerInput{Player: p.ID, Input: arena.Move(seq[p.ID], int64(t%3)-1, int64(p.ID%3)-1)})
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
	*arena.Arena
	got []game.Input
}

func (r *recorder) ApplyInput(w *game.World, p *game.Player, in game.Input) {
	r.got = append(r.got, in)
}

func TestSimInputOrderAndStaleSeqs(t *testing.T) {
	g := &recorder{Arena: arena.New(arena.Config{NPCs: -1})}
	s := newSim(g, game.Rules{}, 1)
	p, _ := s.AddPlayer("a")
	s.Advance(1, []game.PlayerInput{
		{Player: p.ID, Input: game.Input{Seq: 3}},
		{Player: p.ID, Input: game.Input{Seq: 1}},
		{Player: p.ID, Input: game.Input{Seq: 2}},
		{Player: p.ID, Input: game.Input{Seq: 2}}, // duplicate
		{Player: 99, Input: game.Input{Seq: 9}},   // unknown player
	})
	s.Advance(2, []game.PlayerInput{
		{Player: p.ID, Input: game.Input{Seq: 3}}, // already applied
		{Player: p.ID, Input: game.Input{Seq: 1}}, // stale
		{Player: p.ID, Input: game.Input{Seq: 5}},
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
		rules  game.Rules
		arena  arena.Config
		reason game.EndReason
	}{
		{"time limit", game.Rules{MinPlayers: 2, DurationTicks: 50}, arena.Config{PickupOdds: -1, TouchRadius: -1}, game.EndTimeLimit},
		{"score limit", game.Rules{MinPlayers: 2, ScoreLimit: 3}, arena.Config{PickupOdds: 1}, game.EndScoreLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(arena.New(tc.arena), tc.rules, 7)
			a, _ := s.AddPlayer("a")
			s.Advance(1, nil)
			if ph := s.World().Phase(); ph != game.PhaseWaiting {
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
				if tick == 2 && s.World().Phase() != game.PhaseRunning {
					t.Fatalf("phase after second join = %v, want running", s.World().Phase())
				}
			}
			r := s.Result()
			if r == nil || r.Reason != tc.reason {
				t.Fatalf("result %+v, want reason %v", r, tc.reason)
			}
			if tc.reason == game.EndTimeLimit && r.Tick != 2+50 {
				t.Fatalf("ended at tick %d, want 52", r.Tick)
			}
			if tc.reason == game.EndScoreLimit && r.Standings[0].Score < 3 {
				t.Fatalf("winner has %d, below the limit", r.Standings[0].Score)
			}
			if _, err := s.AddPlayer("late"); err != game.ErrMatchEnded {
				t.Fatalf("join after end: err = %v, want game.ErrMatchEnded", err)
			}
		})
	}
}

func TestSimRoomFullAndAbandoned(t *testing.T) {
	s := newSim(arena.New(arena.Config{}), game.Rules{MaxPlayers: 2}, 1)
	a, _ := s.AddPlayer("a")
	b, _ := s.AddPlayer("b")
	if _, err := s.AddPlayer("c"); err != game.ErrRoomFull {
		t.Fatalf("third join: err = %v, want game.ErrRoomFull", err)
	}
	s.Advance(1, nil)
	s.RemovePlayer(a.ID)
	s.RemovePlayer(b.ID)
	if !s.Advance(2, nil) || s.Result().Reason != game.EndAbandoned {
		t.Fatalf("empty running room did not end as abandoned: %+v", s.Result())
	}
	if n := len(s.World().Entities()); n != 48 {
		t.Fatalf("%d entities after players left, want the 48 orbs", n)
	}
}

func TestSimStartsAfterWaitingBound(t *testing.T) {
	s := newSim(arena.New(arena.Config{}), game.Rules{MinPlayers: 4, StartAfterTicks: 10}, 1)
	if _, err := s.AddPlayer("early"); err != nil {
		t.Fatal(err)
	}
	for tick := uint64(1); tick <= 10; tick++ {
		s.Advance(tick, nil)
		if s.World().Phase() != game.PhaseWaiting {
			t.Fatalf("started at tick %d with 1 of 4 players, before the 10-tick bound", tick)
		}
	}
	s.Advance(11, nil)
	if s.World().Phase() != game.PhaseRunning {
		t.Fatalf("phase %v after waiting 10 ticks, want running", s.World().Phase())
	}
}

// newSim builds a sim and panics on a schema error: the arena's schema is valid.
func newSim(g game.Game, rules game.Rules, seed uint64) *game.Sim {
	s, err := game.NewSim(g, rules, seed)
	if err != nil {
		panic(err)
	}
	return s
}
