package game

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// tickLog is an Observer that records tick numbers and can stall the room.
type tickLog struct {
	mu    sync.Mutex
	ticks []uint64
	stall chan struct{} // when set, the next Tick blocks until it is closed
	ended chan Result
}

func (l *tickLog) Tick(s *Sim) {
	l.mu.Lock()
	l.ticks = append(l.ticks, s.World().Tick())
	st := l.stall
	l.stall = nil
	l.mu.Unlock()
	if st != nil {
		<-st
	}
}

func (l *tickLog) Ended(s *Sim, r Result) { l.ended <- r }

func (l *tickLog) snapshot() []uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]uint64(nil), l.ticks...)
}

func TestRoomCatchUpIsBounded(t *testing.T) {
	log := &tickLog{ended: make(chan Result, 1)}
	r := newTestRoom(t, RoomConfig{ID: "r", TickRate: 100, MaxCatchUp: 2, Observer: log})
	r.Start()
	waitFor(t, func() bool { return len(log.snapshot()) >= 5 })

	release := make(chan struct{})
	log.mu.Lock()
	log.stall = release
	log.mu.Unlock()
	waitFor(t, func() bool { log.mu.Lock(); defer log.mu.Unlock(); return log.stall == nil })
	before := len(log.snapshot())
	time.Sleep(150 * time.Millisecond) // about 15 tick slots pass while stalled
	close(release)
	waitFor(t, func() bool { return len(log.snapshot()) >= before+10 })

	ticks := log.snapshot()
	for i := 1; i < len(ticks); i++ {
		if ticks[i] <= ticks[i-1] {
			t.Fatalf("tick numbers not increasing: %v", ticks)
		}
	}
	st := r.Stats()
	if st.Skipped == 0 {
		t.Fatalf("a stall of ~15 slots with MaxCatchUp 2 skipped no slot: %+v ticks %v", st, ticks)
	}
	// No drift: tick numbers are schedule slots, so every slot up to the
	// latest tick was either run or counted as skipped.
	st = r.Stats()
	r.Stop(EndShutdown)
	<-r.Done()
	st = r.Stats()
	last := log.snapshot()[len(log.snapshot())-1]
	if st.Ticks+st.Skipped != last {
		t.Fatalf("ran %d ticks and skipped %d, but the last tick is %d", st.Ticks, st.Skipped, last)
	}
}

func TestRoomJoinInputAndStop(t *testing.T) {
	log := &tickLog{ended: make(chan Result, 1)}
	r := newTestRoom(t, RoomConfig{ID: "r", TickRate: 50, Observer: log})
	r.Start()
	joined := make(chan *Player, 1)
	r.Do(func(s *Sim) {
		p, err := s.AddPlayer("a")
		if err != nil {
			t.Error(err)
		}
		joined <- p
	})
	p := <-joined
	r.Input(p.ID, Input{Seq: 1})
	waitFor(t, func() bool {
		got := make(chan uint32, 1)
		if !r.Do(func(s *Sim) { got <- s.World().Player(p.ID).LastSeq }) {
			return false
		}
		return <-got == 1
	})
	r.Stop(EndShutdown)
	res := <-log.ended
	if res.Reason != EndShutdown || len(res.Standings) != 1 {
		t.Fatalf("result %+v, want shutdown with one standing", res)
	}
	<-r.Done()
	if r.Do(func(*Sim) {}) {
		t.Fatal("Do accepted work after the room stopped")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// OnTick hears of every tick the observer saw, in order, the last one (the
// tick in which the match ended) included.
func TestRoomOnTickReportsEveryTick(t *testing.T) {
	log := &tickLog{ended: make(chan Result, 1)}
	var timed []uint64 // written by the room goroutine, read after Done
	r := newTestRoom(t, RoomConfig{ID: "h", TickRate: 200, Rules: Rules{MaxPlayers: 2}, Observer: log,
		OnTick: func(n uint64, took time.Duration) {
			if took < 0 {
				panic("negative tick duration")
			}
			timed = append(timed, n)
		}})
	r.Start()
	waitFor(t, func() bool { return r.Stats().Ticks >= 5 })
	r.Stop(EndShutdown)
	<-log.ended
	<-r.Done()
	seen := log.snapshot()
	if st := r.Stats(); uint64(len(timed)) != st.Ticks || !slices.Equal(timed, seen) {
		t.Fatalf("OnTick heard ticks %v, the observer saw %v, stats count %d", timed, seen, st.Ticks)
	}
}

// A tick with OnTick set allocates nothing more than one without: the
// callback is the owner's hot path too.
func TestRoomOnTickAllocatesNothing(t *testing.T) {
	var calls int
	with := newTestRoom(t, RoomConfig{ID: "a", Observer: countingObserver{}, OnTick: func(uint64, time.Duration) { calls++ }})
	without := newTestRoom(t, RoomConfig{ID: "b", Observer: countingObserver{}})
	measure := func(r *Room) float64 {
		var n uint64
		var inputs []PlayerInput
		var fs []func(*Sim)
		return testing.AllocsPerRun(100, func() {
			n++
			inputs, fs = r.tick(n, inputs, fs)
		})
	}
	a, b := measure(with), measure(without)
	if calls == 0 {
		t.Fatal("OnTick was not called")
	}
	if a > b {
		t.Fatalf("a tick allocates %.1f times with OnTick, %.1f without", a, b)
	}
}

type countingObserver struct{}

func (countingObserver) Tick(*Sim)          {}
func (countingObserver) Ended(*Sim, Result) {}

// TestInputShareIsPerPlayer fills one player's share of the input queue in
// a duel, and more: the other player's inputs are still all taken, up to
// its own share, and the share is whole again after the tick.
func TestInputShareIsPerPlayer(t *testing.T) {
	log := &tickLog{}
	r := newTestRoom(t, RoomConfig{ID: "duel", Rules: Rules{MaxPlayers: 2}, Observer: log})
	const share = 8
	for i := range 17 {
		if got, want := r.Input(1, Input{Seq: uint32(i + 1)}), i < share; got != want {
			t.Fatalf("player 1's input %d: taken %v, want %v", i+1, got, want)
		}
	}
	for i := range share {
		if !r.Input(2, Input{Seq: uint32(i + 1)}) {
			t.Fatalf("player 2's input %d dropped after player 1 flooded", i+1)
		}
	}
	if r.Input(2, Input{Seq: share + 1}) {
		t.Fatal("player 2's input past its share taken")
	}
	if got := r.Stats().DroppedInputs; got != 17-share+1 {
		t.Fatalf("dropped inputs %d, want %d", got, 17-share+1)
	}
	r.tick(1, nil, nil)
	if !r.Input(1, Input{Seq: 18}) || !r.Input(2, Input{Seq: share + 2}) {
		t.Fatal("inputs refused after the tick emptied the queue")
	}
}

// BenchmarkRoomInput queues one input for each of 16 players, as their
// connections do between two ticks, and empties the shares as a tick does:
// the per-input hot path of the room's inbox.
func BenchmarkRoomInput(b *testing.B) {
	r, err := NewRoom(RoomConfig{ID: "b", Game: newDots()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for p := PlayerID(1); p <= 16; p++ {
			r.Input(p, Input{Seq: 1})
		}
		r.inboxMu.Lock()
		r.inputs = r.inputs[:0]
		r.queued = r.queued[:0]
		r.inboxMu.Unlock()
	}
}
