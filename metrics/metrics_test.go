package metrics

import (
	"context"
	"net"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
	"github.com/tickwire/tickwire/lobby"
	"github.com/tickwire/tickwire/lobby/directory"
	"github.com/tickwire/tickwire/lobby/leaderboard"
	"github.com/tickwire/tickwire/lobby/matchmaker"
	"github.com/tickwire/tickwire/netcode"
)

// TestScrape plays a short match on a real game server with a lobby, matches
// two queued tickets, scrapes /metrics over loopback and checks what a
// Prometheus user would: every Stats field is there with the right type, the
// counters show the match, the histograms are cumulative.
func TestScrape(t *testing.T) {
	base, gs, lob, queue := startNode(t)

	// A match that ends by itself, credited through the lobby.
	c, err := bots.Dial(t.Context(), bots.Config{URL: base, RoomID: "m1", Name: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("match did not end within 20s")
	}
	if c.Stats().MatchEnd == nil {
		t.Fatal("no MatchEnd")
	}
	// Two tickets the matcher places, and one left waiting in another mode.
	for i, id := range []string{"p1", "p2"} {
		tk := matchmaker.Ticket{ID: "t" + id, Mode: "duel", Members: []matchmaker.Member{{ID: id}}, Rating: 1500 + float64(i)}
		if err := queue.Add(t.Context(), tk); err != nil {
			t.Fatal(err)
		}
	}
	if err := queue.Add(t.Context(), matchmaker.Ticket{ID: "t3", Mode: "arena", Members: []matchmaker.Member{{ID: "p3"}}}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for lob.Stats().TicketsMatched < 2 || lob.Stats().MatchesEnded < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("lobby stats %+v: tickets not matched or match not credited within 20s", lob.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}

	fams := scrape(t, base)
	for _, want := range append(metricNames(gameMetrics), metricNames(lobbyMetrics)...) {
		if fams[want.name] == nil || fams[want.name].GetType() != want.typ {
			t.Fatalf("%s missing or not a %v: %v", want.name, want.typ, fams[want.name])
		}
	}
	st := gs.Stats()
	for name, atLeast := range map[string]float64{
		"tickwire_connections_total":             1,
		"tickwire_rooms_created_total":           1,
		"tickwire_frames_out_total":              10,
		"tickwire_bytes_out_total":               1000,
		"tickwire_matches_ended_total":           1,
		"tickwire_leaderboard_submissions_total": 2, // ann on the mode's two boards
		"tickwire_ticks_total":                   10,
	} {
		if got := single(t, fams, name); got < atLeast {
			t.Fatalf("%s = %v, want at least %v", name, got, atLeast)
		}
	}
	if got := single(t, fams, "tickwire_rooms"); got != 0 {
		t.Fatalf("tickwire_rooms = %v after the match ended", got)
	}
	if got := single(t, fams, "tickwire_connections"); got != float64(st.Connections) {
		t.Fatalf("tickwire_connections = %v, server says %d", got, st.Connections)
	}
	ticks := single(t, fams, "tickwire_ticks_total")
	h := fams["tickwire_tick_duration_seconds"].GetMetric()[0].GetHistogram()
	checkCumulative(t, "tick duration", h)
	if float64(h.GetSampleCount()) < ticks-1 || h.GetSampleSum() <= 0 {
		t.Fatalf("tick histogram counts %d ticks (sum %vs), ticks_total %v", h.GetSampleCount(), h.GetSampleSum(), ticks)
	}
	queued := map[string]float64{}
	for _, m := range fams["tickwire_matchmaking_queue_tickets"].GetMetric() {
		queued[label(m, "mode")] = m.GetGauge().GetValue()
	}
	if queued["arena"] != 1 || queued["duel"] != 0 {
		t.Fatalf("queue sizes %v, want arena 1 and duel 0", queued)
	}
	waits := fams["tickwire_matchmaking_wait_seconds"].GetMetric()
	if len(waits) != 1 || label(waits[0], "mode") != "duel" || waits[0].GetHistogram().GetSampleCount() != 2 {
		t.Fatalf("matchmaking waits %v, want 2 duel tickets", waits)
	}
	checkCumulative(t, "matchmaking wait", waits[0].GetHistogram())
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "process_resident_memory_bytes", "tickwire_draining"} {
		if fams[name] == nil {
			t.Fatalf("%s missing", name)
		}
	}

	gs.Drain()
	if got := single(t, scrape(t, base), "tickwire_draining"); got != 1 {
		t.Fatalf("tickwire_draining = %v while draining", got)
	}
}

type metricName struct {
	name string
	typ  dto.MetricType
}

// metricNames are a table's series as a scrape shows them.
func metricNames[S any](table []metric[S]) []metricName {
	var out []metricName
	for _, m := range table {
		typ := dto.MetricType_COUNTER
		if m.typ == gauge {
			typ = dto.MetricType_GAUGE
		}
		out = append(out, metricName{Namespace + "_" + m.name, typ})
	}
	return out
}

// TestEveryStatsFieldHasOneSeries: each numeric field of netcode.Stats and
// lobby.Stats is read by exactly one row of its table, and each row reads
// one field, so a counter added to Stats and not here fails; counters end
// in _total and gauges do not, and no name is used twice.
func TestEveryStatsFieldHasOneSeries(t *testing.T) {
	checkTable(t, gameMetrics)
	checkTable(t, lobbyMetrics)
	seen := map[string]bool{}
	for _, m := range append(metricNames(gameMetrics), metricNames(lobbyMetrics)...) {
		if seen[m.name] {
			t.Errorf("series %s is in the tables twice", m.name)
		}
		seen[m.name] = true
	}
}

func checkTable[S any](t *testing.T, table []metric[S]) {
	t.Helper()
	var s S
	v := reflect.ValueOf(&s).Elem()
	field := map[float64]string{} // the distinct value each numeric field holds -> its name
	for i := range v.NumField() {
		f := v.Field(i)
		if !f.CanSet() {
			continue
		}
		x := float64(i + 1)
		switch {
		case f.CanInt():
			f.SetInt(int64(i + 1))
		case f.CanUint():
			f.SetUint(uint64(i + 1))
		case f.CanFloat():
			f.SetFloat(x)
		default:
			continue
		}
		field[x] = v.Type().Field(i).Name
	}
	read := map[string]string{}
	for _, m := range table {
		name, ok := field[m.read(s)]
		switch {
		case !ok:
			t.Errorf("%T: series %s reads no field of its own (%v)", s, m.name, m.read(s))
		case read[name] != "":
			t.Errorf("%T.%s is read by both %s and %s", s, name, read[name], m.name)
		default:
			read[name] = m.name
		}
		if total := strings.HasSuffix(m.name, "_total"); total != (m.typ == counter) {
			t.Errorf("series %s: a counter's name ends in _total, a gauge's does not", m.name)
		}
		if m.help == "" {
			t.Errorf("series %s has no help", m.name)
		}
	}
	for _, name := range field {
		if read[name] == "" {
			t.Errorf("%T.%s has no series: add a row to its table in metrics.go", s, name)
		}
	}
}

func checkCumulative(t *testing.T, what string, h *dto.Histogram) {
	t.Helper()
	var prev uint64
	for _, b := range h.GetBucket() {
		if b.GetCumulativeCount() < prev {
			t.Fatalf("%s buckets not cumulative: %v", what, h.GetBucket())
		}
		prev = b.GetCumulativeCount()
	}
	if prev > h.GetSampleCount() || len(h.GetBucket()) < 5 {
		t.Fatalf("%s: last bucket %d of %d samples, %d buckets", what, prev, h.GetSampleCount(), len(h.GetBucket()))
	}
}

func single(t *testing.T, fams map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil || len(f.GetMetric()) != 1 {
		t.Fatalf("%s: want one sample, have %v", name, f)
	}
	m := f.GetMetric()[0]
	if m.GetCounter() != nil {
		return m.GetCounter().GetValue()
	}
	return m.GetGauge().GetValue()
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func scrape(t *testing.T, base string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http" + strings.TrimPrefix(base, "ws") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics: %s, %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// startNode runs a game server with open rooms of 1s matches, a running lobby
// on an embedded store, and /metrics, on a loopback port.
func startNode(t *testing.T) (string, *netcode.Server, *lobby.Lobby, matchmaker.Queue) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "ws://" + ln.Addr().String()
	boards, err := leaderboard.OpenBolt(filepath.Join(t.TempDir(), "lb.db"), leaderboard.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	queue := matchmaker.NewMemory()
	var gs *netcode.Server
	lob, err := lobby.New(t.Context(), lobby.Config{
		Address: base, Secret: []byte("0123456789abcdef0123"), TickRate: 50,
		Modes:        []lobby.Mode{{Name: "arena", Size: 4}, {Name: "duel", Size: 2}},
		Leaderboards: boards, Queue: queue, Directory: directory.NewMemory(time.Minute),
		Rooms:         func() []lobby.RoomReport { return nil },
		MatchInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	gs, err = netcode.NewServer(netcode.Config{
		TickRate: 50, OpenRooms: true, NewGame: func(string) game.Game { return arena.New(arena.Config{}) },
		Rules: game.Rules{Mode: "arena", MaxPlayers: 2, DurationTicks: 50},
		OnMatchEnd: func(m netcode.MatchResult) {
			for i := range m.Result.Standings {
				m.Result.Standings[i].Account = "acct-" + m.Result.Standings[i].Name
			}
			lob.MatchEnded(m.Mode, m.Result.Standings)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+netcode.Path, gs)
	mux.Handle("GET /metrics", Handler(Sources{Game: gs, Lobby: lob}))
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(ln) }()
	ctx, cancel := context.WithCancel(context.Background())
	lob.Run(ctx)
	t.Cleanup(func() {
		_ = gs.Shutdown(context.Background())
		_ = hs.Close()
		cancel()
		_ = lob.Close(context.Background())
		_ = boards.Close()
	})
	return base, gs, lob, queue
}
