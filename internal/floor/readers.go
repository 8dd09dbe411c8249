package floor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Readers is the receiving side of a run.
type Readers interface {
	// Start opens conns connections to addr and, in the background, reads
	// and discards everything that arrives on them until the sender closes
	// them or ctx ends. It returns once the readers are on their way.
	Start(ctx context.Context, addr string, conns int) error
	// Wait blocks until every reader has stopped. It reports an error unless
	// all of them stopped because the sender closed its end.
	Wait() error
}

// ReaderEnv is the environment variable that tells a program started by
// [Process] to be the readers. Its value is for [ReaderMain] only.
const ReaderEnv = "TICKWIRE_FLOOR_READER"

// Process runs the readers in a child process, so that their CPU time is not
// charged to the sender: Path with Args, with [ReaderEnv] added to the
// environment. The program must hand that variable's value to [ReaderMain]
// before doing anything else. A Process is started once.
type Process struct {
	// Path is the program to run. Default: the running executable.
	Path string
	// Args follow the program name, e.g. the subcommand that calls
	// ReaderMain.
	Args []string
	// Env is added to the child's environment, which is otherwise this
	// process's.
	Env []string
	// Output receives the child's stdout and stderr; nil discards them.
	Output io.Writer

	cmd *exec.Cmd // set by Start
}

// Start starts the child. When ctx ends the child is killed; it also stops by
// itself at ctx's deadline, should this process go first.
func (p *Process) Start(ctx context.Context, addr string, conns int) error {
	if p.cmd != nil {
		return errors.New("reader process already started")
	}
	path := p.Path
	if path == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find own executable to run the readers: %w", err)
		}
		path = exe
	}
	spec := readerSpec{addr: addr, conns: conns}
	if d, ok := ctx.Deadline(); ok {
		spec.limit = time.Until(d)
	}
	cmd := exec.CommandContext(ctx, path, p.Args...)
	cmd.Env = append(append(os.Environ(), p.Env...), ReaderEnv+"="+spec.String())
	cmd.Stdout, cmd.Stderr = p.Output, p.Output
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start reader process %s: %w", path, err)
	}
	p.cmd = cmd
	return nil
}

// Wait waits for the child to exit.
func (p *Process) Wait() error {
	if p.cmd == nil {
		return errors.New("reader process not started")
	}
	if err := p.cmd.Wait(); err != nil {
		return fmt.Errorf("reader process %d: %w", p.cmd.Process.Pid, err)
	}
	return nil
}

// CPU returns the child's user+system CPU time once it has exited, and
// false before or where the system does not report it.
func (p *Process) CPU() (time.Duration, bool) {
	if p.cmd == nil || p.cmd.ProcessState == nil {
		return 0, false
	}
	st := p.cmd.ProcessState
	return st.UserTime() + st.SystemTime(), true
}

// ReaderMain is the body of a reader process started by [Process]: spec is
// the value of [ReaderEnv]. It dials the sender, reads until the sender
// closes every connection, and returns nil; or an error if that does not
// happen within the spec's limit or ctx.
func ReaderMain(ctx context.Context, spec string) error {
	s, err := parseReaderSpec(spec)
	if err != nil {
		return err
	}
	if err := raiseFileLimit(s.conns); err != nil {
		return err
	}
	if s.limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.limit)
		defer cancel()
	}
	return read(ctx, s.addr, s.conns)
}

// readerSpec is what a reader process is told: where to dial, how many
// connections, and how long it may run at most (0: no limit).
type readerSpec struct {
	addr  string
	conns int
	limit time.Duration
}

func (s readerSpec) String() string {
	return fmt.Sprintf("%s %d %s", s.addr, s.conns, s.limit)
}

func parseReaderSpec(v string) (readerSpec, error) {
	f := strings.Fields(v)
	if len(f) != 3 {
		return readerSpec{}, fmt.Errorf("%s=%q: want \"addr conns limit\"", ReaderEnv, v)
	}
	conns, err := strconv.Atoi(f[1])
	if err != nil || conns < 1 {
		return readerSpec{}, fmt.Errorf("%s=%q: bad connection count %q", ReaderEnv, v, f[1])
	}
	limit, err := time.ParseDuration(f[2])
	if err != nil || limit < 0 {
		return readerSpec{}, fmt.Errorf("%s=%q: bad limit %q", ReaderEnv, v, f[2])
	}
	return readerSpec{addr: f[0], conns: conns, limit: limit}, nil
}

// InProcess runs the readers as goroutines of this process. Their CPU time is
// charged to the sender, so the figure comes out as the floor plus the reads:
// it is for tests. An InProcess is started once.
type InProcess struct {
	done chan struct{} // closed when err is set
	err  error
}

// Start starts the readers.
func (r *InProcess) Start(ctx context.Context, addr string, conns int) error {
	if r.done != nil {
		return errors.New("readers already started")
	}
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		r.err = read(ctx, addr, conns)
	}()
	return nil
}

// Wait waits for the readers to stop.
func (r *InProcess) Wait() error {
	if r.done == nil {
		return errors.New("readers not started")
	}
	<-r.done
	return r.err
}

// read dials n connections to addr and reads each in its own goroutine until
// the sender closes it. When ctx ends first it closes them and fails.
func read(ctx context.Context, addr string, n int) error {
	var (
		d       net.Dialer
		readers sync.WaitGroup
		failed  atomic.Int64 // reads that failed other than by our close
		cut     atomic.Int64 // connections closed by ctx's end
		first   error
		firstMu sync.Mutex // guards first
	)
	conns := make([]net.Conn, 0, n)
	drain := func(c net.Conn) {
		err := discard(c)
		switch {
		case err == nil:
		case errors.Is(err, net.ErrClosed):
			cut.Add(1)
		default:
			failed.Add(1)
			firstMu.Lock()
			if first == nil {
				first = err
			}
			firstMu.Unlock()
		}
	}
	for len(conns) < n {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			for _, c := range conns {
				_ = c.Close()
			}
			readers.Wait()
			return fmt.Errorf("dial %s, connection %d of %d: %w", addr, len(conns)+1, n, err)
		}
		conns = append(conns, c)
		readers.Go(func() { drain(c) })
	}
	stop := context.AfterFunc(ctx, func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	readers.Wait()
	stop()
	var errs []error
	if n := cut.Load(); n > 0 {
		errs = append(errs, fmt.Errorf("%d of %d connections still open when the readers had to stop: %w", n, len(conns), context.Cause(ctx)))
	}
	if n := failed.Load(); n > 0 {
		errs = append(errs, fmt.Errorf("%d reads failed, first: %w", n, first))
	}
	return errors.Join(errs...)
}

// discard reads c until EOF, which it reports as nil.
func discard(c net.Conn) error {
	defer c.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}
