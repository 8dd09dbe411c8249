package bots

import (
	"fmt"
	"io"
	"time"
)

// joinTiming is one bot's join as the runner saw it.
type joinTiming struct {
	wait time.Duration // from its ramp-up slot to the start of its join
	seat time.Duration // the lobby's seat request; 0 without one
	join time.Duration // from the start of its join to its Welcome
	done time.Time     // when its Welcome arrived
}

// setJoinTimes fills the join percentiles from h.
func (r *Report) setJoinTimes(h *Histogram) {
	r.JoinP50Ms = ms(h.Quantile(0.50))
	r.JoinP90Ms = ms(h.Quantile(0.90))
	r.JoinP99Ms = ms(h.Quantile(0.99))
	r.JoinMaxMs = ms(h.Max())
}

// addJoins replaces the report's join figures, which NewReport takes from
// the Welcome wait alone, with the runner's: whole joins, lobby seat
// included, and the join rate from the run's start.
func (r *Report) addJoins(joins []joinTiming, start time.Time) {
	if len(joins) == 0 {
		return
	}
	var join, seat Histogram
	var wait time.Duration
	var last time.Time
	seated := false
	for _, j := range joins {
		join.Record(j.join)
		if j.seat > 0 {
			seat.Record(j.seat)
			seated = true
		}
		wait = max(wait, j.wait)
		if j.done.After(last) {
			last = j.done
		}
	}
	r.setJoinTimes(&join)
	if seated {
		r.SeatP50Ms, r.SeatP99Ms = ms(seat.Quantile(0.50)), ms(seat.Quantile(0.99))
	}
	r.JoinWaitMaxMs = ms(wait)
	if phase := last.Sub(start); phase > 0 {
		r.JoinPhaseS = phase.Seconds()
		r.JoinsPerS = float64(len(joins)) / phase.Seconds()
	}
}

// addBotsCPU sets the bots' CPU figures from their CPU time and the updates
// they applied over the measured window of length window.
func (r *Report) addBotsCPU(cpu time.Duration, updates int64, window time.Duration) {
	r.BotsCPUSeconds, r.BotsUpdates = cpu.Seconds(), updates
	if updates > 0 {
		r.BotsCPUUsPerClientUpdate = float64(cpu.Microseconds()) / float64(updates)
	}
	if window > 0 {
		r.BotsCores = cpu.Seconds() / window.Seconds()
	}
}

func (r Report) printJoins(w io.Writer) {
	fmt.Fprintf(w, "join time\tp50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms", r.JoinP50Ms, r.JoinP90Ms, r.JoinP99Ms, r.JoinMaxMs)
	if r.SeatP99Ms > 0 {
		fmt.Fprintf(w, " (lobby seat p50 %.1f ms, p99 %.1f ms)", r.SeatP50Ms, r.SeatP99Ms)
	}
	fmt.Fprintln(w)
	if r.JoinPhaseS > 0 {
		fmt.Fprintf(w, "join rate\t%.0f joins/s, all joined %.1f s after the start (ramp-up %.1f s; longest wait for a join worker %.0f ms)\n",
			r.JoinsPerS, r.JoinPhaseS, r.RampUpS, r.JoinWaitMaxMs)
	}
}
