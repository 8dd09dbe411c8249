package floor

import (
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// Result is what a run saw. Its JSON form is what `tickwire floor --json`
// prints and what benchmark scripts read.
type Result struct {
	Conns   int     `json:"conns"`
	Size    int     `json:"size"`
	Rate    float64 `json:"rate"`
	Workers int     `json:"workers"`
	// DurationS is the configured window; ElapsedS the measured one, from
	// the start of the schedule to the return of the last tick's writes.
	DurationS float64 `json:"duration_s"`
	ElapsedS  float64 `json:"elapsed_s"`

	// Writes counts writes that returned no error; WritesExpected is Conns ×
	// Rate × Duration, and DeliveryRatio the one over the other.
	Writes         int64   `json:"writes"`
	WritesExpected int64   `json:"writes_expected"`
	DeliveryRatio  float64 `json:"delivery_ratio"`
	// WritesPerS is Writes per second of ElapsedS; WritesPerSExpected is
	// Conns × Rate.
	WritesPerS         float64 `json:"writes_per_s"`
	WritesPerSExpected float64 `json:"writes_per_s_expected"`
	Bytes              int64   `json:"bytes"`
	// WriteErrors counts failed writes; a connection is written to no more
	// after its first.
	WriteErrors int64 `json:"write_errors"`

	// Ticks counts tick slots whose writes ran, TicksSkipped those dropped
	// by the catch-up bound. TickLate is how long after its slot a tick
	// began, TickWrites how long its writes took.
	Ticks            int64   `json:"ticks"`
	TicksSkipped     int64   `json:"ticks_skipped"`
	TickLateMeanMs   float64 `json:"tick_late_mean_ms"`
	TickLateMaxMs    float64 `json:"tick_late_max_ms"`
	TickWritesMeanMs float64 `json:"tick_writes_mean_ms"`
	TickWritesMaxMs  float64 `json:"tick_writes_max_ms"`

	// SenderCPUS is the sending process's user+system CPU time in the
	// window; SenderCPUUsPerWrite is that over Writes, in microseconds (0
	// without writes), and SenderCPUPct over ElapsedS, in percent of one
	// core.
	SenderCPUS          float64 `json:"sender_cpu_s"`
	SenderUserS         float64 `json:"sender_user_s"`
	SenderSysS          float64 `json:"sender_sys_s"`
	SenderCPUUsPerWrite float64 `json:"sender_cpu_us_per_write"`
	SenderCPUPct        float64 `json:"sender_cpu_pct"`

	// ReaderCPUS is the reader process's user+system CPU time over its
	// whole life (its dials included), when the readers ran in a process of
	// their own ([Process]); ReaderCPUUsPerWrite is that over Writes: what
	// the simplest client, one goroutine per connection reading and
	// discarding, costs per update it receives. Both 0 otherwise.
	ReaderCPUS          float64 `json:"reader_cpu_s,omitempty"`
	ReaderCPUUsPerWrite float64 `json:"reader_cpu_us_per_write,omitempty"`
}

// addReaderCPU fills in the reader figures from the readers' CPU time.
func (r *Result) addReaderCPU(cpu time.Duration) {
	r.ReaderCPUS = cpu.Seconds()
	if r.Writes > 0 {
		r.ReaderCPUUsPerWrite = 1e6 * r.ReaderCPUS / float64(r.Writes)
	}
}

func (s *sender) result(cfg *Config, w window) Result {
	r := Result{
		Conns: cfg.Conns, Size: cfg.Size, Rate: cfg.Rate, Workers: cfg.Workers,
		DurationS: cfg.Duration.Seconds(), ElapsedS: w.elapsed.Seconds(),
		WritesExpected:     s.want * int64(cfg.Conns),
		WritesPerSExpected: float64(cfg.Conns) * cfg.Rate,
		Ticks:              s.ticks, TicksSkipped: s.skipped,
		TickLateMeanMs: ms(s.late.mean()), TickLateMaxMs: ms(s.late.max),
		TickWritesMeanMs: ms(s.passes.mean()), TickWritesMaxMs: ms(s.passes.max),
		SenderCPUS: (w.user + w.sys).Seconds(), SenderUserS: w.user.Seconds(), SenderSysS: w.sys.Seconds(),
	}
	for _, wr := range s.writers {
		r.Writes += wr.writes
		r.Bytes += wr.bytes
		r.WriteErrors += wr.errors
	}
	r.DeliveryRatio = float64(r.Writes) / float64(r.WritesExpected)
	if r.ElapsedS > 0 {
		r.WritesPerS = float64(r.Writes) / r.ElapsedS
		r.SenderCPUPct = 100 * r.SenderCPUS / r.ElapsedS
	}
	if r.Writes > 0 {
		r.SenderCPUUsPerWrite = 1e6 * r.SenderCPUS / float64(r.Writes)
	}
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Failed returns an error if the figure is not one to trust: no write
// succeeded, or some failed. It is nil otherwise; skipped ticks (a sender that
// cannot keep up) are a result, not a failure, and show in DeliveryRatio.
func (r Result) Failed() error {
	var errs []error
	if r.Writes == 0 {
		errs = append(errs, errors.New("no write succeeded"))
	}
	if r.WriteErrors > 0 {
		errs = append(errs, fmt.Errorf("%d writes failed", r.WriteErrors))
	}
	return errors.Join(errs...)
}

// Print writes a human-readable summary to w.
func (r Result) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "run\t%d conns x %d B at %g Hz, %d writers, %.1f s window (%.2f s measured)\n",
		r.Conns, r.Size, r.Rate, r.Workers, r.DurationS, r.ElapsedS)
	fmt.Fprintf(tw, "writes\t%d of %d expected (%.2f%%), %.0f/s of %.0f/s, %d bytes, %d errors\n",
		r.Writes, r.WritesExpected, 100*r.DeliveryRatio, r.WritesPerS, r.WritesPerSExpected, r.Bytes, r.WriteErrors)
	fmt.Fprintf(tw, "ticks\t%d (%d skipped); late mean %.3f ms, max %.3f ms; writes mean %.3f ms, max %.3f ms\n",
		r.Ticks, r.TicksSkipped, r.TickLateMeanMs, r.TickLateMaxMs, r.TickWritesMeanMs, r.TickWritesMaxMs)
	fmt.Fprintf(tw, "sender CPU\t%.3f s (user %.3f, sys %.3f), %.2f%% of one core\n",
		r.SenderCPUS, r.SenderUserS, r.SenderSysS, r.SenderCPUPct)
	fmt.Fprintf(tw, "per write\t%.3f µs of sender CPU (kernel send plus loopback receive)\n", r.SenderCPUUsPerWrite)
	if r.ReaderCPUS > 0 {
		fmt.Fprintf(tw, "readers\t%.3f s of CPU in their process, %.3f µs per write received (one goroutine per connection, read and discard)\n",
			r.ReaderCPUS, r.ReaderCPUUsPerWrite)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print result: %w", err)
	}
	return nil
}
