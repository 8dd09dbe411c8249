package floor

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"time"
)

// writer writes the frame to its share of the connections once per pass. Its
// fields are owned by its goroutine; the tick loop reads the counters only
// after the goroutine has reported a pass done or has stopped.
type writer struct {
	conns []*net.TCPConn // a failed connection is closed and set to nil
	frame []byte         // shared by all writers, never written to
	start chan struct{}  // one send per pass; closed to stop the writer
	done  chan<- struct{}

	writes, bytes, errors int64
}

func (w *writer) run() {
	for range w.start {
		w.pass()
		w.done <- struct{}{}
	}
}

// pass writes the frame once to every live connection. Hot path: once per
// connection per tick; allocates nothing (BenchmarkWritePass).
func (w *writer) pass() {
	for i, c := range w.conns {
		if c == nil {
			continue
		}
		n, err := c.Write(w.frame)
		w.bytes += int64(n)
		if err != nil {
			w.errors++
			_ = c.Close()
			w.conns[i] = nil
			continue
		}
		w.writes++
	}
}

// durations sums and bounds a series of durations.
type durations struct {
	n        int64
	sum, max time.Duration
}

func (d *durations) add(v time.Duration) {
	d.n++
	d.sum += v
	d.max = max(d.max, v)
}

func (d *durations) mean() time.Duration {
	if d.n == 0 {
		return 0
	}
	return d.sum / time.Duration(d.n)
}

// sender is the tick loop and its writers. It is owned by measure's goroutine.
type sender struct {
	period   time.Duration
	want     int64 // tick slots in the window
	writers  []*writer
	passDone chan struct{} // one receive per writer per pass

	ticks, skipped int64
	late, passes   durations
}

func newSender(cfg *Config, conns []*net.TCPConn) *sender {
	frame := make([]byte, cfg.Size)
	for i := range frame {
		frame[i] = byte('a' + i%26)
	}
	s := &sender{period: cfg.period(), want: cfg.ticks(), passDone: make(chan struct{}, cfg.Workers)}
	for i := range cfg.Workers {
		lo, hi := i*len(conns)/cfg.Workers, (i+1)*len(conns)/cfg.Workers
		w := &writer{conns: conns[lo:hi:hi], frame: frame, start: make(chan struct{}), done: s.passDone}
		s.writers = append(s.writers, w)
		go w.run()
	}
	return s
}

// pass has every writer write its connections once and waits for all.
func (s *sender) pass() {
	for _, w := range s.writers {
		w.start <- struct{}{}
	}
	for range s.writers {
		<-s.passDone
	}
}

// stop ends the writers' goroutines. Each has reported its last pass done, so
// its counters are final.
func (s *sender) stop() {
	for _, w := range s.writers {
		close(w.start)
	}
}

// loop runs a pass in every slot start + k·period, k = 1..want. A pass that
// starts late runs at once; when the loop is more than maxCatchUp slots behind
// it skips the missed slots, as a room's loop does.
func (s *sender) loop(ctx context.Context, start time.Time) error {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for next := int64(1); next <= s.want; next++ {
		slot := start.Add(time.Duration(next) * s.period)
		if wait := time.Until(slot); wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-ctx.Done():
				return fmt.Errorf("stopped after %d of %d ticks: %w", s.ticks, s.want, ctx.Err())
			}
		}
		if due := int64(time.Since(start) / s.period); due > next+maxCatchUp {
			to := min(due-maxCatchUp, s.want+1)
			s.skipped += to - next
			if next = to; next > s.want {
				break
			}
			slot = start.Add(time.Duration(next) * s.period)
		}
		began := time.Now()
		s.late.add(began.Sub(slot))
		s.pass()
		s.passes.add(time.Since(began))
		s.ticks++
	}
	return nil
}

// measure runs the tick loop over conns and measures the process's CPU time
// across it. The writes fail at deadline at the latest.
func measure(ctx context.Context, cfg *Config, conns []*net.TCPConn, deadline time.Time) (Result, error) {
	for _, c := range conns {
		if err := c.SetWriteDeadline(deadline); err != nil {
			return Result{}, fmt.Errorf("set write deadline: %w", err)
		}
	}
	s := newSender(cfg, conns)
	w, err := s.window(ctx)
	s.stop()
	if err != nil {
		return Result{}, err
	}
	return s.result(cfg, w), nil
}

// window is the measured window: its wall-clock length and the CPU time the
// process spent in it.
type window struct {
	elapsed, user, sys time.Duration
}

func (s *sender) window(ctx context.Context) (window, error) {
	runtime.GC() // setup's garbage is not the window's to collect
	user0, sys0, err := cpuTime()
	if err != nil {
		return window{}, err
	}
	start := time.Now()
	if err := s.loop(ctx, start); err != nil {
		return window{}, err
	}
	elapsed := time.Since(start)
	user1, sys1, err := cpuTime()
	if err != nil {
		return window{}, err
	}
	return window{elapsed: elapsed, user: user1 - user0, sys: sys1 - sys0}, nil
}
