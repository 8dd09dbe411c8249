package clock_test

import (
	"testing"
	"time"

	"github.com/tickwire/tickwire/internal/clock"
)

func TestManualFiresTimersWhenDue(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := clock.NewManual(start)
	early, late := m.NewTimer(time.Second), m.NewTimer(3*time.Second)
	called := make(chan struct{})
	m.AfterFunc(2*time.Second, func() { close(called) })
	stopped := m.NewTimer(time.Second)
	if !stopped.Stop() {
		t.Fatal("Stop of a waiting timer reported false")
	}

	m.Advance(time.Second)
	if got := <-early.C(); !got.Equal(start.Add(time.Second)) {
		t.Fatalf("early timer fired at %v", got)
	}
	select {
	case <-late.C():
		t.Fatal("late timer fired early")
	case <-stopped.C():
		t.Fatal("stopped timer fired")
	default:
	}
	m.Advance(2 * time.Second)
	<-called
	<-late.C()
	if m.Timers() != 0 {
		t.Fatalf("%d timers left", m.Timers())
	}
}

func TestManualWaitTimers(t *testing.T) {
	m := clock.NewManual(time.Time{})
	go func() { m.NewTimer(time.Minute) }()
	if !m.WaitTimers(1, t.Context().Done()) {
		t.Fatal("no timer")
	}
	done := make(chan struct{})
	close(done)
	if m.WaitTimers(2, done) {
		t.Fatal("WaitTimers(2) reported true with one timer")
	}
}
