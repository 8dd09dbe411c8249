// Package clock is time as code that schedules sees it: the time now and
// timers. Servers are handed a Clock (Real by default); tests hand them a
// Manual one and move it on, so that they wait on events instead of sleeping.
package clock

import "time"

// Clock tells the time and makes timers.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that sends the time on its channel once d has
	// passed.
	NewTimer(d time.Duration) Timer
	// AfterFunc calls f on its own goroutine once d has passed, unless the
	// timer is stopped first.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a time.Timer of some Clock.
type Timer interface {
	// C is the timer's channel; nil for an AfterFunc timer.
	C() <-chan time.Time
	// Stop and Reset are time.Timer's.
	Stop() bool
	Reset(d time.Duration) bool
}

// Real is the system clock.
type Real struct{}

func (Real) Now() time.Time { return time.Now() }

func (Real) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

func (Real) AfterFunc(d time.Duration, f func()) Timer { return realTimer{time.AfterFunc(d, f)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time        { return t.t.C }
func (t realTimer) Stop() bool                 { return t.t.Stop() }
func (t realTimer) Reset(d time.Duration) bool { return t.t.Reset(d) }

// Or is c, or Real if c is nil: for configuration fields whose zero value
// means the system clock.
func Or(c Clock) Clock {
	if c == nil {
		return Real{}
	}
	return c
}
