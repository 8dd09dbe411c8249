package bots

import (
	"fmt"
	"html/template"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// WriteHTML writes the report as one self-contained HTML page: the headline
// figures, charts of the run over time (updates/s, bytes/s, clients
// connected, latency per second; from Series), the latency histogram, and a
// table of every field. It loads nothing: no scripts, fonts or styles from
// elsewhere, the charts are inline SVG.
func (r Report) WriteHTML(w io.Writer) error {
	if err := reportPage.Execute(w, r.htmlView()); err != nil {
		return fmt.Errorf("write html report: %w", err)
	}
	return nil
}

type htmlView struct {
	Title    string
	Subtitle string
	Failed   string
	Cards    []card
	Charts   []template.HTML // over time, two a row
	Latency  template.HTML
	// Fields is the table of every field, in two columns.
	Fields [2][]field
}

// card is one headline figure.
type card struct{ Label, Value, Note string }

// field is one row of the table of every field.
type field struct{ Name, Value string }

func (r Report) htmlView() htmlView {
	v := htmlView{
		Title: "Tickwire load run",
		Subtitle: fmt.Sprintf("%d rooms × %d players = %d clients · behaviour %s · deflate %s · measured %.1f s after %.1f s of ramp-up (%.1f s in all)",
			r.Rooms, r.PlayersPerRoom, r.Clients, r.Behaviour, onOff(r.Deflate), r.MeasureS, r.RampUpS, r.DurationS),
		Cards:   r.cards(),
		Latency: template.HTML(histogramChart("Tick-to-client latency, every update in the window", r.LatencyHistogram, r.LatencyP50Ms, r.LatencyP99Ms)),
	}
	all := r.fields()
	half := (len(all) + 1) / 2
	v.Fields = [2][]field{all[:half], all[half:]}
	if err := r.Failed(); err != nil {
		v.Failed = err.Error()
	}
	if s := r.Series; s != nil {
		v.Charts = seriesCharts(s)
	} else {
		v.Charts = []template.HTML{template.HTML(lineChart("No time series in this report", "", nil, nil, 0, 0))}
	}
	return v
}

func (r Report) cards() []card {
	// Server figures need the sample at the end of the window.
	server := r.ServerRSSBytes != 0
	missing := "no server stats"
	if r.ServerStatsError != "" {
		missing = "server stats unavailable"
	}
	fromServer := func(ok bool, format string, args ...any) string {
		if !server || !ok {
			return "–"
		}
		return fmt.Sprintf(format, args...)
	}
	serverNote := func(format string, args ...any) string {
		if !server {
			return missing
		}
		return fmt.Sprintf(format, args...)
	}
	return []card{
		{"Server CPU per client update", fromServer(r.ServerStateFramesOut > 0, "%.2f µs", r.ServerCPUUsPerClientUpdate),
			serverNote("%.2f s of CPU for %d updates", r.ServerCPUSeconds, r.ServerStateFramesOut)},
		{"Updates delivered", fmt.Sprintf("%.2f %%", 100*r.DeliveryRatio), fmt.Sprintf("%d of %d expected", r.UpdatesReceived, r.UpdatesExpected)},
		{"Latency p50 / p99", fmt.Sprintf("%.2f / %.2f ms", r.LatencyP50Ms, r.LatencyP99Ms), fmt.Sprintf("tick to client; max %.2f ms", r.LatencyMaxMs)},
		{"Tick p50 / p99", fromServer(true, "%.2f / %.2f ms", r.TickP50Ms, r.TickP99Ms),
			serverNote("max %.2f ms, %d overruns", r.TickMaxMs, r.TickOverruns)},
		{"Bytes per client per second", siFormat(r.BytesPerClientPerS, "B"), siFormat(r.PayloadBytesPerClientPerS, "B") + " inflated"},
		{"Server memory per client", fromServer(r.ServerRSSBytesPerClient != 0, "%s", siFormat(float64(r.ServerRSSBytesPerClient), "B")),
			serverNote("%s resident in all", siFormat(float64(r.ServerRSSBytes), "B"))},
		{"Clients joined", fmt.Sprintf("%d / %d", r.ClientsJoined, r.Clients),
			fmt.Sprintf("join p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms", r.JoinP50Ms, r.JoinP90Ms, r.JoinP99Ms, r.JoinMaxMs)},
		{"Join rate", fmt.Sprintf("%.0f joins/s", r.JoinsPerS),
			fmt.Sprintf("all in %.1f s (ramp-up %.1f s); lobby seat p99 %.1f ms", r.JoinPhaseS, r.RampUpS, r.SeatP99Ms)},
		{"Bots CPU per client update", fmt.Sprintf("%.2f µs", r.BotsCPUUsPerClientUpdate),
			fmt.Sprintf("%.2f s of CPU for %d updates, %.2f cores", r.BotsCPUSeconds, r.BotsUpdates, r.BotsCores)},
		{"Desyncs", strconv.FormatInt(r.Desyncs, 10), fmt.Sprintf("%d resyncs, %d ticks missed", r.Resyncs, r.FramesMissed)},
	}
}

// seriesCharts draws the time series: rates per second of each interval, the
// measured window shaded.
func seriesCharts(s *Series) []template.HTML {
	rate := func(counts []int64) []float64 {
		out := make([]float64, len(counts))
		for i, c := range counts {
			dt := s.TS[i]
			if i > 0 {
				dt -= s.TS[i-1]
			}
			if dt > 0 {
				out[i] = float64(c) / dt
			}
		}
		return out
	}
	clients := make([]float64, len(s.Clients))
	for i, c := range s.Clients {
		clients[i] = float64(c)
	}
	from, to := s.WindowStartS, s.WindowEndS
	return []template.HTML{
		template.HTML(lineChart("Updates received per second", "", s.TS, []line{{"updates/s", "#2c6fbb", rate(s.Updates)}}, from, to)),
		template.HTML(lineChart("Bytes received per second (wire)", "B/s", s.TS, []line{{"bytes/s", "#1e8c5a", rate(s.Bytes)}}, from, to)),
		template.HTML(lineChart("Clients connected, joins per second", "", s.TS, []line{
			{"clients", "#7a4fb0", clients}, {"joins/s", "#d68910", rate(s.Joins)},
		}, from, to)),
		template.HTML(lineChart("Latency per second", "ms", s.TS, []line{
			{"p50", "#2c6fbb", s.LatencyP50Ms}, {"p99", "#c0392b", s.LatencyP99Ms},
		}, from, to)),
	}
}

// fields lists every field of the report by its JSON name; the series and
// the histogram, drawn above, are summed up in a line each.
func (r Report) fields() []field {
	rv, rt := reflect.ValueOf(r), reflect.TypeOf(r)
	var out []field
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		out = append(out, field{name, formatField(rv.Field(i).Interface())})
	}
	return out
}

func formatField(v any) string {
	switch v := v.(type) {
	case string:
		if v == "" {
			return "–"
		}
		return v
	case bool:
		return map[bool]string{true: "yes", false: "no"}[v]
	case int:
		return groupDigits(strconv.Itoa(v))
	case int64:
		return groupDigits(strconv.FormatInt(v, 10))
	case float64:
		return formatFloat(v)
	case map[uint16]int:
		codes := make([]int, 0, len(v))
		for c := range v {
			codes = append(codes, int(c))
		}
		slices.Sort(codes)
		var parts []string
		for _, c := range codes {
			parts = append(parts, fmt.Sprintf("%d: %d", c, v[uint16(c)]))
		}
		return strings.Join(parts, ", ")
	case HistogramBuckets:
		return fmt.Sprintf("%d non-empty buckets (charted above)", len(v.Count))
	case *Series:
		if v == nil {
			return "–"
		}
		return fmt.Sprintf("%d intervals (charted above)", v.Len())
	}
	return fmt.Sprint(v)
}

func formatFloat(v float64) string {
	if v == float64(int64(v)) && v < 1e15 && v > -1e15 {
		return groupDigits(strconv.FormatInt(int64(v), 10))
	}
	if a := max(v, -v); a >= 1000 {
		return groupDigits(strconv.FormatInt(int64(v+0.5), 10))
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

// groupDigits puts thin spaces between thousands: 1234567 is "1 234 567".
func groupDigits(s string) string {
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "\u2009" + s[i:]
	}
	return sign + s
}

var reportPage = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1160px; color: #222; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 10px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.sub { color: #555; margin: 0 0 16px; }
.failed { background: #fdecea; border: 1px solid #e6a19a; color: #8a1f11; padding: 8px 12px; border-radius: 4px; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 10px 12px; }
.card .label { font-size: 12px; color: #666; text-transform: uppercase; letter-spacing: .03em; }
.card .value { font-size: 22px; font-weight: 600; margin: 4px 0 2px; font-variant-numeric: tabular-nums; }
.card .note { font-size: 12px; color: #666; }
.charts { display: grid; grid-template-columns: repeat(2, 1fr); gap: 12px 20px; }
svg.chart { font-size: 11px; }
svg .title { font-size: 13px; font-weight: 600; fill: #222; }
svg .tick { fill: #555; }
svg .mark { fill: #c0392b; }
.note { color: #666; font-size: 13px; }
table { border-collapse: collapse; font-size: 13px; }
td { padding: 3px 14px 3px 0; border-bottom: 1px solid #eee; vertical-align: top; }
td.name { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: #444; }
td.value { font-variant-numeric: tabular-nums; }
.fields { display: grid; grid-template-columns: repeat(2, 1fr); gap: 0 40px; align-items: start; }
.fields table { width: 100%; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="sub">{{.Subtitle}}</p>
{{if .Failed}}<p class="failed">The run shows faults: {{.Failed}}</p>{{end}}
<div class="cards">
{{range .Cards}}<div class="card"><div class="label">{{.Label}}</div><div class="value">{{.Value}}</div><div class="note">{{.Note}}</div></div>
{{end}}</div>
<h2>Over time</h2>
<p class="note">Per second of the whole run; the shaded band is the measured window.</p>
<div class="charts">
{{range .Charts}}<div>{{.}}</div>
{{end}}</div>
<h2>Latency</h2>
{{.Latency}}
<h2>Every figure</h2>
<div class="fields">
{{range .Fields}}<table>
{{range .}}<tr><td class="name">{{.Name}}</td><td class="value">{{.Value}}</td></tr>
{{end}}</table>
{{end}}</div>
</body>
</html>
`))
