package bots

import (
	"fmt"
	"html"
	"math"
	"strings"
)

// The charts of the HTML report are drawn here as inline SVG, so that the
// page needs nothing but itself.

// chartBox is a chart's size and the margins around its plot area, in pixels.
type chartBox struct {
	w, h                     float64
	left, right, top, bottom float64
}

var defaultBox = chartBox{w: 560, h: 230, left: 62, right: 16, top: 30, bottom: 36}

func (b chartBox) plotW() float64 { return b.w - b.left - b.right }
func (b chartBox) plotH() float64 { return b.h - b.top - b.bottom }

// line is one series of a line chart.
type line struct {
	name  string
	color string
	ys    []float64
}

// lineChart draws lines over xs (seconds since the run started) with y from
// 0 to a round number above the largest value; the band from shadeFrom to
// shadeTo (the measured window) is shaded when shadeTo > shadeFrom.
func lineChart(title, unit string, xs []float64, lines []line, shadeFrom, shadeTo float64) string {
	b := defaultBox
	var sb strings.Builder
	svgOpen(&sb, b, title)
	if len(xs) == 0 {
		noData(&sb, b)
		sb.WriteString("</svg>")
		return sb.String()
	}
	xMax := max(xs[len(xs)-1], 1)
	yMax := 0.0
	for _, l := range lines {
		for _, y := range l.ys {
			yMax = max(yMax, y)
		}
	}
	yTicks := niceTicks(yMax)
	yMax = yTicks[len(yTicks)-1]
	x := func(v float64) float64 { return b.left + v/xMax*b.plotW() }
	y := func(v float64) float64 { return b.top + b.plotH() - v/yMax*b.plotH() }
	if shadeTo > shadeFrom {
		fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#e8f0fb"/>`,
			x(shadeFrom), b.top, x(min(shadeTo, xMax))-x(shadeFrom), b.plotH())
	}
	for _, t := range yTicks {
		fmt.Fprintf(&sb, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, b.left, b.w-b.right, y(t), y(t))
		fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" text-anchor="end" class="tick">%s</text>`, b.left-6, y(t)+4, html.EscapeString(siFormat(t, unit)))
	}
	for _, t := range niceTicks(xMax) {
		if t <= xMax {
			fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" text-anchor="middle" class="tick">%ss</text>`, x(t), b.h-b.bottom+16, trimFloat(t))
		}
	}
	axes(&sb, b)
	for _, l := range lines {
		var pts strings.Builder
		for i, v := range l.ys {
			fmt.Fprintf(&pts, "%.1f,%.1f ", x(xs[i]), y(v))
		}
		fmt.Fprintf(&sb, `<polyline fill="none" stroke="%s" stroke-width="1.8" points="%s"/>`, l.color, strings.TrimSpace(pts.String()))
	}
	legend(&sb, b, lines)
	sb.WriteString("</svg>")
	return sb.String()
}

// histogramChart draws the latency histogram as bars over a log scale of
// milliseconds, merging its buckets into display bins, with lines at p50 and
// p99.
func histogramChart(title string, hb HistogramBuckets, p50, p99 float64) string {
	b := defaultBox
	b.w, b.right = 1140, 32
	var sb strings.Builder
	svgOpen(&sb, b, title)
	if len(hb.Count) == 0 {
		noData(&sb, b)
		sb.WriteString("</svg>")
		return sb.String()
	}
	// Display range: whole decades of milliseconds around the samples, from
	// 10 µs up.
	lo := math.Floor(math.Log10(max(float64(hb.LowUs[0])/1000, 0.01)))
	last := len(hb.LowUs) - 1
	hi := math.Ceil(math.Log10(float64(hb.LowUs[last]+hb.WidthUs[last]) / 1000))
	hi = max(hi, lo+1)
	const binsPerDecade = 20
	bins := make([]uint64, int(hi-lo)*binsPerDecade)
	for i, c := range hb.Count {
		mid := (float64(hb.LowUs[i]) + float64(hb.WidthUs[i])/2) / 1000
		k := int((math.Log10(max(mid, 0.01)) - lo) * binsPerDecade)
		bins[min(max(k, 0), len(bins)-1)] += uint64(c)
	}
	top := uint64(0)
	for _, c := range bins {
		top = max(top, c)
	}
	yTicks := niceTicks(float64(top))
	yMax := yTicks[len(yTicks)-1]
	x := func(logMs float64) float64 { return b.left + (logMs-lo)/(hi-lo)*b.plotW() }
	y := func(v float64) float64 { return b.top + b.plotH() - v/yMax*b.plotH() }
	for _, t := range yTicks {
		fmt.Fprintf(&sb, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/>`, b.left, b.w-b.right, y(t), y(t))
		fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" text-anchor="end" class="tick">%s</text>`, b.left-6, y(t)+4, siFormat(t, ""))
	}
	for d := lo; d <= hi; d++ {
		for _, m := range []float64{1, 2, 5} {
			if v := d + math.Log10(m); v <= hi {
				fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" text-anchor="middle" class="tick">%s ms</text>`, x(v), b.h-b.bottom+16, trimFloat(math.Pow(10, v)))
			}
		}
	}
	bw := b.plotW() / float64(len(bins))
	for k, c := range bins {
		if c > 0 {
			fmt.Fprintf(&sb, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#4878b8"/>`,
				b.left+float64(k)*bw+0.5, y(float64(c)), max(bw-1, 1), y(0)-y(float64(c)))
		}
	}
	axes(&sb, b)
	for _, q := range []struct {
		name string
		ms   float64
	}{{"p50", p50}, {"p99", p99}} {
		if q.ms <= 0 {
			continue
		}
		v := x(math.Log10(q.ms))
		fmt.Fprintf(&sb, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#c0392b" stroke-dasharray="4 3"/>`, v, v, b.top, b.top+b.plotH())
		fmt.Fprintf(&sb, `<text x="%.1f" y="%.1f" class="mark">%s %s ms</text>`, v+4, b.top+12, q.name, trimFloat(q.ms))
	}
	sb.WriteString("</svg>")
	return sb.String()
}

func svgOpen(sb *strings.Builder, b chartBox, title string) {
	fmt.Fprintf(sb, `<svg class="chart" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img" aria-label="%s">`,
		b.w, b.h, b.w, b.h, html.EscapeString(title))
	fmt.Fprintf(sb, `<text x="%.1f" y="18" class="title">%s</text>`, b.left, html.EscapeString(title))
}

func noData(sb *strings.Builder, b chartBox) {
	fmt.Fprintf(sb, `<text x="%.1f" y="%.1f" text-anchor="middle" class="tick">no data</text>`, b.w/2, b.h/2)
}

func axes(sb *strings.Builder, b chartBox) {
	fmt.Fprintf(sb, `<path d="M%.1f %.1fV%.1fH%.1f" fill="none" stroke="#555"/>`, b.left, b.top, b.top+b.plotH(), b.w-b.right)
}

func legend(sb *strings.Builder, b chartBox, lines []line) {
	if len(lines) < 2 {
		return
	}
	x := b.w - b.right - 90*float64(len(lines))
	for i, l := range lines {
		lx := x + 90*float64(i)
		fmt.Fprintf(sb, `<rect x="%.1f" y="10" width="14" height="4" fill="%s"/>`, lx, l.color)
		fmt.Fprintf(sb, `<text x="%.1f" y="16" class="tick">%s</text>`, lx+18, html.EscapeString(l.name))
	}
}

// niceTicks returns 0 and evenly spaced round values (1, 2 or 5 times a power
// of ten apart) up to the first one at or above v; at least 0 and 1 step.
func niceTicks(v float64) []float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return []float64{0, 1}
	}
	raw := v / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag * 10
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	ticks := []float64{0}
	for t := step; ; t += step {
		ticks = append(ticks, t)
		if t >= v*(1-1e-9) {
			return ticks
		}
	}
}

// siFormat writes v with an SI prefix (k, M, G) and unit: 12500 "B/s" is
// "12.5 kB/s".
func siFormat(v float64, unit string) string {
	prefix := ""
	for _, p := range []string{"k", "M", "G", "T"} {
		if math.Abs(v) < 1000 {
			break
		}
		v /= 1000
		prefix = p
	}
	s := trimFloat(v)
	if prefix+unit == "" {
		return s
	}
	return s + " " + prefix + unit
}

// trimFloat writes v with at most three significant decimals and no trailing
// zeros.
func trimFloat(v float64) string {
	var s string
	switch a := math.Abs(v); {
	case a >= 100 || a == 0:
		s = fmt.Sprintf("%.0f", v)
	case a >= 10:
		s = fmt.Sprintf("%.1f", v)
	case a >= 1:
		s = fmt.Sprintf("%.2f", v)
	default:
		s = fmt.Sprintf("%.3f", v)
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}
