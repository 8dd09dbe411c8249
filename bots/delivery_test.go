package bots

import (
	"testing"
	"time"

	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// lateWelcomeClient is a client whose Welcome (tick 10) arrived late, as on a
// server busy with a ramp-up of joins: the 30 deltas queued behind it follow
// in a burst, then the rest arrive one per tick (20 Hz) until tick 100. Ticks
// in skip are lost: the next delta is relative to the last one the client
// got, as a server's catch-up frame is. It returns the client's stats after
// its window ends with tick 100. Only the times of arrival matter here, so
// they are counted from the Welcome's.
func lateWelcomeClient(t *testing.T, skip map[uint64]bool) Stats {
	t.Helper()
	tick0 := time.Unix(1_700_000_000, 0)
	c, _ := testClient(t, tick0)
	welcomed := tick0.Add(500 * time.Millisecond) // when testClient's Welcome arrived
	base := uint64(10)
	var last time.Time
	for tick := uint64(11); tick <= 100; tick++ {
		last = welcomed.Add(time.Duration(tick-10) * time.Millisecond) // the burst
		if tick > 40 {
			last = welcomed.Add(30*time.Millisecond + time.Duration(tick-40)*time.Second/20)
		}
		if skip[tick] {
			continue
		}
		c.handle(t, emptyDelta(tick, base), last)
		base = tick
	}
	c.stop(last.Add(10 * time.Millisecond))
	return c.Stats()
}

// A client whose Welcome arrived late applies, in its window, more ticks
// than the tick rate times its window's seconds: the frames queued behind
// the Welcome. They were expected all the same, and the delivery ratio must
// not read above 1 (at R=200 through the lobby it read 1.008).
func TestDeliveryAfterLateWelcome(t *testing.T) {
	s := lateWelcomeClient(t, nil)
	if s.Updates != 90 || s.WindowTicks != 90 {
		t.Fatalf("updates %d over %d ticks, want 90 over 90", s.Updates, s.WindowTicks)
	}
	if wall := float64(s.TickRate) * s.Connected.Seconds(); wall >= 90 {
		t.Fatalf("window of %v holds %.1f ticks of wall clock; the test needs fewer than 90", s.Connected, wall)
	}
	r := NewReport([]Stats{s}, nil, 5*time.Second)
	if r.UpdatesExpected != 90 || r.DeliveryRatio != 1 {
		t.Errorf("expected %d updates, delivery ratio %v; want 90 and exactly 1", r.UpdatesExpected, r.DeliveryRatio)
	}

	// Lost ticks in such a window still count as lost.
	s = lateWelcomeClient(t, map[uint64]bool{60: true, 61: true, 62: true, 63: true, 64: true})
	r = NewReport([]Stats{s}, nil, 5*time.Second)
	if r.UpdatesReceived != 85 || r.UpdatesExpected != 90 || r.FramesMissed != 5 {
		t.Errorf("received %d of %d, %d missed; want 85 of 90, 5 missed", r.UpdatesReceived, r.UpdatesExpected, r.FramesMissed)
	}
}

// A client in step with the server is expected to get the tick rate times
// its window's seconds, lost updates counting as lost, as before.
func TestDeliveryWallClock(t *testing.T) {
	s := Stats{TickRate: 20, Connected: 10 * time.Second, Updates: 190, WindowTicks: 195}
	r := NewReport([]Stats{s}, nil, 10*time.Second)
	if r.UpdatesExpected != 200 || r.DeliveryRatio != 0.95 {
		t.Errorf("expected %d, ratio %v; want 200 and 0.95", r.UpdatesExpected, r.DeliveryRatio)
	}
}

// A tick applied twice (a snapshot for a tick the client already had, then
// the deltas after it again) counts once: updates never outnumber the ticks.
func TestDeliveryCountsEachTickOnce(t *testing.T) {
	tick0 := time.Unix(1_700_000_000, 0)
	at := func(tick uint64) time.Time { return tick0.Add(time.Duration(tick) * time.Second / 20) }
	c, _ := testClient(t, tick0) // welcomed at tick 10
	for tick := uint64(11); tick <= 20; tick++ {
		c.handle(t, emptyDelta(tick, tick-1), at(tick))
	}
	old := baseState()
	old.Tick = 15
	c.handle(t, &tickwirev1.ServerFrame{Body: &tickwirev1.ServerFrame_Snapshot{Snapshot: snapshotOf(old)}}, at(20))
	for tick := uint64(16); tick <= 25; tick++ {
		c.handle(t, emptyDelta(tick, tick-1), at(tick))
	}
	c.stop(at(25))
	s := c.Stats()
	if s.Updates != 15 || s.WindowTicks != 15 || s.FramesMissed != 0 || s.Desyncs != 0 {
		t.Errorf("updates %d over %d ticks, %d missed, %d desyncs; want 15 over 15, none missed",
			s.Updates, s.WindowTicks, s.FramesMissed, s.Desyncs)
	}
	if r := NewReport([]Stats{s}, nil, time.Second); r.DeliveryRatio > 1 {
		t.Errorf("delivery ratio %v", r.DeliveryRatio)
	}
}
