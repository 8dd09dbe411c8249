package bots

import (
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progressDisplay is the one-line live view of a run on a terminal: a bar of
// the elapsed time and what the last second looked like. It renders only when
// the runner's monitor goroutine calls it, and starts no goroutine of its own.
type progressDisplay struct {
	bar     *progressbar.ProgressBar
	total   time.Duration // expected length of the run; 0 if unknown
	clients int           // bots the run starts
}

// progressSteps is the bar's resolution: it moves in tenths of a second.
const progressSteps = 10

func newProgressDisplay(w io.Writer, total time.Duration, clients int) *progressDisplay {
	steps := int64(-1) // a spinner when the run's length is unknown
	if total > 0 {
		steps = int64(total.Seconds() * progressSteps)
	}
	bar := progressbar.NewOptions64(steps,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetWidth(24),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetElapsedTime(false),
		progressbar.OptionShowDescriptionAtLineEnd(),
		progressbar.OptionSetSpinnerChangeInterval(0), // its own goroutine otherwise
		progressbar.OptionSetTheme(progressbar.ThemeASCII),
		progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }),
	)
	p := &progressDisplay{bar: bar, total: total, clients: clients}
	p.update(point{})
	return p
}

// update shows the run at p.elapsed, with p's interval as the last second.
func (d *progressDisplay) update(p point) {
	d.bar.Describe(d.describe(p))
	if d.total <= 0 {
		_ = d.bar.Add(1) // moves the spinner
		return
	}
	// Hold the bar short of full until finish: joins and leaves can overrun.
	steps := int64(p.elapsed.Seconds() * progressSteps)
	_ = d.bar.Set64(min(steps, d.bar.GetMax64()-1))
}

// finish shows the run's last interval and ends the line.
func (d *progressDisplay) finish(p point) {
	d.bar.Describe(d.describe(p))
	_ = d.bar.Finish()
}

func (d *progressDisplay) describe(p point) string {
	elapsed := p.elapsed.Round(time.Second)
	when := elapsed.String()
	if d.total > 0 {
		when += "/" + d.total.Round(time.Second).String()
	}
	return fmt.Sprintf("%s  clients %d/%d  %.0f updates/s  latency p50 %.1f ms p99 %.1f ms",
		when, p.clients, d.clients, p.perSecond(p.updates), ms(p.p50), ms(p.p99))
}
