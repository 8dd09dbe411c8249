package floor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary be the reader process of TestRunProcess.
func TestMain(m *testing.M) {
	if spec, ok := os.LookupEnv(ReaderEnv); ok {
		if err := ReaderMain(context.Background(), spec); err != nil {
			fmt.Fprintln(os.Stderr, "reader:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// checkResult checks what must hold of any healthy run, whatever the timing.
func checkResult(t *testing.T, r Result, cfg Config) {
	t.Helper()
	if err := r.Failed(); err != nil {
		t.Fatalf("run failed: %v (%+v)", err, r)
	}
	wantTicks := int64(math.Round(cfg.Rate * cfg.Duration.Seconds()))
	if r.Ticks+r.TicksSkipped != wantTicks || r.Ticks == 0 {
		t.Errorf("ticks %d + skipped %d, want %d slots with some run", r.Ticks, r.TicksSkipped, wantTicks)
	}
	if r.Writes != r.Ticks*int64(cfg.Conns) || r.Bytes != r.Writes*int64(cfg.Size) {
		t.Errorf("%d writes, %d bytes after %d ticks of %d x %d B", r.Writes, r.Bytes, r.Ticks, cfg.Conns, cfg.Size)
	}
	if r.WritesExpected != wantTicks*int64(cfg.Conns) {
		t.Errorf("writes expected %d, want %d", r.WritesExpected, wantTicks*int64(cfg.Conns))
	}
	us := r.SenderCPUUsPerWrite
	if !(us > 0) || math.IsInf(us, 0) || !(r.SenderCPUPct > 0) || math.IsInf(r.SenderCPUPct, 0) {
		t.Errorf("sender CPU %v µs per write, %v%%: want positive and finite", us, r.SenderCPUPct)
	}
	var sb strings.Builder
	if err := r.Print(&sb); err != nil || !strings.Contains(sb.String(), "µs of sender CPU") {
		t.Errorf("Print: %v\n%s", err, sb.String())
	}
}

func TestRunInProcess(t *testing.T) {
	cfg := Config{Conns: 8, Size: 150, Rate: 20, Duration: time.Second, Workers: 2, Readers: &InProcess{}}
	r, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, r, cfg)
}

// TestRunProcess runs the readers in a child process, this test binary
// (see TestMain), as `tickwire floor` does.
func TestRunProcess(t *testing.T) {
	readers := &Process{
		Env:    []string{"GORACE=atexit_sleep_ms=0"}, // a -race child would idle 1s on exit
		Output: os.Stderr,
	}
	cfg := Config{Conns: 4, Size: 200, Rate: 20, Duration: 500 * time.Millisecond, Readers: readers}
	r, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkResult(t, r, cfg)
	// The child read every write, so it used some CPU; a figure of 0 would
	// mean its time went unmeasured.
	if !(r.ReaderCPUS > 0) || !(r.ReaderCPUUsPerWrite > 0) || math.IsInf(r.ReaderCPUUsPerWrite, 0) {
		t.Errorf("reader CPU %v s, %v µs per write: want positive and finite", r.ReaderCPUS, r.ReaderCPUUsPerWrite)
	}
	var sb strings.Builder
	if err := r.Print(&sb); err != nil || !strings.Contains(sb.String(), "per write received") {
		t.Errorf("Print = %v, %q: want the readers' line", err, sb.String())
	}
}

// deadReaders never connect and stop at once.
type deadReaders struct{}

var errDead = errors.New("readers died")

func (deadReaders) Start(context.Context, string, int) error { return nil }
func (deadReaders) Wait() error                              { return errDead }

func TestRunFailsWhenReadersDie(t *testing.T) {
	began := time.Now()
	_, err := Run(t.Context(), Config{Conns: 4, SetupTimeout: time.Minute, Readers: deadReaders{}})
	if !errors.Is(err, errDead) {
		t.Fatalf("Run = %v, want the readers' error", err)
	}
	if time.Since(began) > 30*time.Second {
		t.Errorf("Run waited out its setup timeout instead of noticing the readers stop")
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // in the error; "" for none
	}{
		{"defaults", Config{Readers: &InProcess{}}, ""},
		{"no readers", Config{}, "Readers is nil"},
		{"negative conns", Config{Conns: -1, Readers: &InProcess{}}, "conns -1"},
		{"huge size", Config{Size: 1 << 30, Readers: &InProcess{}}, "size"},
		{"NaN rate", Config{Rate: math.NaN(), Readers: &InProcess{}}, "rate"},
		{"negative duration", Config{Duration: -time.Second, Readers: &InProcess{}}, "duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate = %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Validate = %v, want an error about %q", err, tc.want)
			}
		})
	}
	c := Config{Conns: 1, Readers: &InProcess{}}
	if err := c.Validate(); err != nil || c.Size != DefaultSize || c.Rate != DefaultRate || c.Duration != DefaultDuration || c.Workers != 1 {
		t.Errorf("Validate filled in %+v, %v; want the defaults and one worker for one connection", c, err)
	}
}

func TestReaderSpec(t *testing.T) {
	in := readerSpec{addr: "127.0.0.1:4242", conns: 3200, limit: 25 * time.Second}
	if out, err := parseReaderSpec(in.String()); err != nil || out != in {
		t.Errorf("parse(%q) = %+v, %v; want %+v", in.String(), out, err, in)
	}
	for _, bad := range []string{"", "127.0.0.1:1 0 1s", "127.0.0.1:1 x 1s", "127.0.0.1:1 2 soon", "127.0.0.1:1 2"} {
		if _, err := parseReaderSpec(bad); err == nil {
			t.Errorf("parse(%q) succeeded", bad)
		}
	}
}

// BenchmarkWritePass measures one writer's pass over 64 loopback connections,
// read in this process (so the figure includes the reads).
func BenchmarkWritePass(b *testing.B) {
	const conns = 64
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	readers := &InProcess{}
	if err := readers.Start(b.Context(), ln.Addr().String(), conns); err != nil {
		b.Fatal(err)
	}
	cs, err := accept(b.Context(), ln, conns, 5*time.Second, nil)
	if err != nil {
		b.Fatal(err)
	}
	w := &writer{conns: cs, frame: make([]byte, DefaultSize)}
	b.ReportAllocs()
	for b.Loop() {
		w.pass()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(w.writes), "ns/write")
	closeAll(cs)
	if err := readers.Wait(); err != nil || w.errors > 0 {
		b.Fatalf("readers: %v; %d write errors", err, w.errors)
	}
}

// ExampleRun measures the floor with the readers in a child process: this
// program, started with ReaderEnv set, must call ReaderMain first thing.
func ExampleRun() {
	if spec, ok := os.LookupEnv(ReaderEnv); ok {
		if err := ReaderMain(context.Background(), spec); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	res, err := Run(context.Background(), Config{Conns: 800, Duration: 15 * time.Second, Readers: &Process{}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	fmt.Printf("%.2f µs of sender CPU per write\n", res.SenderCPUUsPerWrite)
}
