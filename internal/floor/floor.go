package floor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"runtime"
	"syscall"
	"time"
)

// Config describes a run. The zero value of every field but Readers means its
// default.
type Config struct {
	// Conns is the number of loopback connections written to. Default 800.
	Conns int
	// Size is the bytes written to each connection per tick. Default 150.
	Size int
	// Rate is ticks per second. Default 20.
	Rate float64
	// Duration is the measured window. Default 20s.
	Duration time.Duration
	// Workers is the number of goroutines sharing a tick's writes, each
	// owning a fixed slice of the connections. Default GOMAXPROCS, at most
	// Conns.
	Workers int
	// SetupTimeout bounds the wait for all Conns connections. Default 4s.
	SetupTimeout time.Duration
	// Readers is the receiving side; required. Use [Process] to measure and
	// [InProcess] in tests. Run starts them with a context that ends
	// SetupTimeout + Duration + 1s later (Duration + 5s with the defaults),
	// so they stop by themselves even if the sender does not close them.
	Readers Readers
}

// Defaults of Config.
const (
	DefaultConns        = 800
	DefaultSize         = 150
	DefaultRate         = 20
	DefaultDuration     = 20 * time.Second
	DefaultSetupTimeout = 4 * time.Second
)

// Limits of Config, to catch a typo before it opens a million sockets.
const (
	maxConns = 100_000
	maxSize  = 1 << 20
	maxRate  = 1000
)

// readerGrace is how long the readers outlive the end of the window at most:
// Readers get a context that ends SetupTimeout + Duration + readerGrace after
// they are started (with the defaults, Duration + 5s), and the sender's writes
// share that deadline, so a stalled reader cannot hang a run.
const readerGrace = time.Second

// maxCatchUp is how many tick slots the loop may run late before it skips the
// missed ones, as a room's loop does by default (game.RoomConfig.MaxCatchUp).
const maxCatchUp = 3

// Validate fills in the defaults and reports a field out of range.
func (c *Config) Validate() error {
	if c.Readers == nil {
		return errors.New("Config.Readers is nil")
	}
	c.Conns = orDefault(c.Conns, DefaultConns)
	c.Size = orDefault(c.Size, DefaultSize)
	c.Rate = orDefault(c.Rate, DefaultRate)
	c.Duration = orDefault(c.Duration, DefaultDuration)
	c.SetupTimeout = orDefault(c.SetupTimeout, DefaultSetupTimeout)
	c.Workers = min(orDefault(c.Workers, runtime.GOMAXPROCS(0)), c.Conns)
	var errs []error
	if c.Conns < 0 || c.Conns > maxConns {
		errs = append(errs, fmt.Errorf("conns %d not in 1..%d", c.Conns, maxConns))
	}
	if c.Size < 0 || c.Size > maxSize {
		errs = append(errs, fmt.Errorf("size %d not in 1..%d", c.Size, maxSize))
	}
	if !(c.Rate > 0 && c.Rate <= maxRate) { // also catches NaN
		errs = append(errs, fmt.Errorf("rate %v not in (0, %d]", c.Rate, maxRate))
	}
	if c.Duration < 0 || c.SetupTimeout < 0 || c.Workers < 0 {
		errs = append(errs, fmt.Errorf("duration %v, setup timeout %v and workers %d must not be negative", c.Duration, c.SetupTimeout, c.Workers))
	}
	return errors.Join(errs...)
}

func orDefault[T int | float64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// ticks is the number of tick slots in the window, at least one.
func (c *Config) ticks() int64 {
	return max(1, int64(math.Round(c.Rate*c.Duration.Seconds())))
}

func (c *Config) period() time.Duration {
	return time.Duration(float64(time.Second) / c.Rate)
}

// Run measures the floor as cfg describes and returns what it saw. It fails if
// the connections are not all up within cfg.SetupTimeout or the readers fail;
// write errors are counted in the Result (see [Result.Failed]) rather than
// returned.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if err := raiseFileLimit(cfg.Conns); err != nil {
		return Result{}, err
	}
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return Result{}, fmt.Errorf("listen on loopback: %w", err)
	}
	defer ln.Close()

	deadline := time.Now().Add(cfg.SetupTimeout + cfg.Duration + readerGrace)
	rctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	if err := cfg.Readers.Start(rctx, ln.Addr().String(), cfg.Conns); err != nil {
		return Result{}, fmt.Errorf("start readers: %w", err)
	}
	readers := waitReaders(cfg.Readers)

	conns, err := accept(ctx, ln, cfg.Conns, cfg.SetupTimeout, readers.done)
	if err == nil {
		var res Result
		res, err = measure(ctx, &cfg, conns, deadline)
		closeAll(conns)
		if rerr := readers.wait(rctx, cancel); err == nil && rerr != nil {
			err = fmt.Errorf("readers: %w", rerr)
		}
		if c, ok := cfg.Readers.(interface{ CPU() (time.Duration, bool) }); ok && err == nil {
			if cpu, ok := c.CPU(); ok {
				res.addReaderCPU(cpu)
			}
		}
		return res, err
	}
	closeAll(conns)
	cancel()
	if rerr := readers.wait(rctx, cancel); rerr != nil {
		err = fmt.Errorf("%w (readers: %w)", err, rerr)
	}
	return Result{}, err
}

// readersWait is the outcome of Readers.Wait, which a goroutine waits for so
// that the sender can notice readers that die early.
type readersWait struct {
	done chan struct{} // closed when err is set
	err  error
}

func waitReaders(r Readers) *readersWait {
	w := &readersWait{done: make(chan struct{})}
	go func() {
		w.err = r.Wait()
		close(w.done)
	}()
	return w
}

// wait gives the readers until ctx ends to stop by themselves (they do once
// their connections are closed), then cancels them and waits for good.
func (w *readersWait) wait(ctx context.Context, cancel context.CancelFunc) error {
	select {
	case <-w.done:
	case <-ctx.Done():
		cancel()
		<-w.done
	}
	return w.err
}

// accept takes n connections from ln within timeout. It gives up early when
// ctx ends or the readers stop.
func accept(ctx context.Context, ln *net.TCPListener, n int, timeout time.Duration, readersDone <-chan struct{}) ([]*net.TCPConn, error) {
	if err := ln.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, fmt.Errorf("set accept deadline: %w", err)
	}
	accepted := make(chan struct{})
	defer close(accepted)
	go func() {
		select {
		case <-ctx.Done():
		case <-readersDone:
		case <-accepted:
			return
		}
		_ = ln.SetDeadline(time.Now()) // wakes the Accept below
	}()
	conns := make([]*net.TCPConn, 0, n)
	for len(conns) < n {
		c, err := ln.AcceptTCP()
		if err != nil {
			return conns, fmt.Errorf("accept connection %d of %d: %w", len(conns)+1, n, err)
		}
		conns = append(conns, c)
	}
	return conns, nil
}

func closeAll(conns []*net.TCPConn) {
	for _, c := range conns {
		if c != nil {
			_ = c.Close()
		}
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() (user, sys time.Duration, err error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano()), nil
}

// raiseFileLimit raises the soft limit on open files to the hard one when
// conns connections (plus some slack for the runtime and stdio) need it.
func raiseFileLimit(conns int) error {
	need := uint64(conns) + 64
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("get open-file limit: %w", err)
	}
	if lim.Cur >= need {
		return nil
	}
	if lim.Max < need {
		return fmt.Errorf("%d connections need %d open files, the hard limit is %d (raise it with ulimit -Hn)", conns, need, lim.Max)
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("raise open-file limit to %d: %w", lim.Max, err)
	}
	return nil
}
