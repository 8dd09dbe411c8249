package clock

import (
	"sync"
	"time"
)

// Manual is a clock that moves only when told to (Advance). Its timers fire
// during Advance, in the order they are due: channel timers by a send that
// never blocks (the channel holds one value, as time.Timer's), AfterFunc
// timers by calling f on a new goroutine. It is safe for concurrent use.
type Manual struct {
	mu      sync.Mutex
	now     time.Time
	timers  map[*manualTimer]struct{}
	changed chan struct{} // closed and replaced when a timer is set
}

// NewManual returns a manual clock reading start.
func NewManual(start time.Time) *Manual {
	return &Manual{now: start, timers: map[*manualTimer]struct{}{}, changed: make(chan struct{})}
}

func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

func (m *Manual) NewTimer(d time.Duration) Timer {
	t := &manualTimer{m: m, c: make(chan time.Time, 1)}
	t.Reset(d)
	return t
}

func (m *Manual) AfterFunc(d time.Duration, f func()) Timer {
	t := &manualTimer{m: m, f: f}
	t.Reset(d)
	return t
}

// Advance moves the clock on by d and fires the timers due by then.
func (m *Manual) Advance(d time.Duration) {
	m.mu.Lock()
	m.now = m.now.Add(d)
	now := m.now
	var due []*manualTimer
	for t := range m.timers {
		if !t.when.After(now) {
			due = append(due, t)
			delete(m.timers, t)
		}
	}
	m.mu.Unlock()
	for _, t := range due {
		if t.f != nil {
			go t.f()
			continue
		}
		select {
		case t.c <- now:
		default:
		}
	}
}

// Timers is how many timers wait to fire.
func (m *Manual) Timers() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.timers)
}

// WaitTimers blocks until at least n timers wait to fire, or done is closed;
// it reports whether there are n. A test calls it before Advance so that the
// code it drives has set the timers the Advance is meant to fire.
func (m *Manual) WaitTimers(n int, done <-chan struct{}) bool {
	for {
		m.mu.Lock()
		got, changed := len(m.timers), m.changed
		m.mu.Unlock()
		if got >= n {
			return true
		}
		select {
		case <-changed:
		case <-done:
			return false
		}
	}
}

type manualTimer struct {
	m    *Manual
	c    chan time.Time
	f    func()
	when time.Time // guarded by m.mu
}

func (t *manualTimer) C() <-chan time.Time { return t.c }

func (t *manualTimer) Stop() bool {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	_, active := t.m.timers[t]
	delete(t.m.timers, t)
	return active
}

func (t *manualTimer) Reset(d time.Duration) bool {
	m := t.m
	m.mu.Lock()
	_, active := m.timers[t]
	t.when = m.now.Add(d)
	m.timers[t] = struct{}{}
	close(m.changed)
	m.changed = make(chan struct{})
	m.mu.Unlock()
	if d <= 0 {
		m.Advance(0)
	}
	return active
}
