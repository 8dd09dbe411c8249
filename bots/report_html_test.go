package bots

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sampleReport is a report as a short run of 2 × 4 bots leaves it.
func sampleReport() Report {
	var stats []Stats
	for i := range 8 {
		s := Stats{RoomID: "r", TickRate: 20, Connected: 10 * time.Second, Updates: 199, WireBytes: 30000, PayloadBytes: 60000,
			CloseCode: 1000, Deflate: true, JoinTime: time.Duration(5+i) * time.Millisecond}
		for k := range 200 {
			s.Latency.Record(time.Duration(300+k*k/4+i*50) * time.Microsecond)
		}
		stats = append(stats, s)
	}
	r := NewReport(stats, nil, 13*time.Second)
	r.Rooms, r.PlayersPerRoom, r.Behaviour, r.Clients = 2, 4, "random", 8
	r.RampUpS, r.MeasureS = 2, 10
	r.addServerStats(serverSamples{
		before: &serverStats{RSSBytes: 30 << 20},
		start:  &serverStats{CPUSeconds: 1, RSSBytes: 31 << 20, StateFramesOut: 100},
		end:    &serverStats{CPUSeconds: 1.2, RSSBytes: 32 << 20, StateFramesOut: 1700, TickP50Ms: 0.1, TickP99Ms: 0.4, TickMaxMs: 1.1},
	})
	s := &Series{WindowStartS: 2.1, WindowEndS: 12.1}
	for i := range 13 {
		s.TS = append(s.TS, float64(i+1))
		s.Clients = append(s.Clients, min(4*(i+1), 8))
		s.Updates = append(s.Updates, int64(min(80*(i+1), 160)))
		s.Bytes = append(s.Bytes, int64(min(24000*(i+1), 48000)))
		s.LatencyP50Ms = append(s.LatencyP50Ms, 1.2)
		s.LatencyP99Ms = append(s.LatencyP99Ms, 4.5+float64(i%3))
	}
	s.Clients[12] = 0
	r.Series = s
	return r
}

// external matches anything that would make a page load something: a
// script or stylesheet from a file, a link, an import, or a src or href
// that is not a fragment.
var external = regexp.MustCompile(`(?i)<script[^>]*\bsrc|<link\b|@import|url\(|\b(src|href)\s*=\s*["']?\s*[^"'#\s>]`)

func TestWriteHTML(t *testing.T) {
	r := sampleReport()
	var b strings.Builder
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.HasSuffix(strings.TrimSpace(page), "</html>") {
		t.Fatalf("not an HTML page: %.200s", page)
	}
	if m := external.FindString(page); m != "" {
		t.Errorf("page references something external: %q", m)
	}
	for _, bad := range []string{"http://", "https://", "<script", "<iframe", "<img"} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q", bad)
		}
	}

	svgs := regexp.MustCompile(`(?s)<svg.*?</svg>`).FindAllString(page, -1)
	if len(svgs) != 5 {
		t.Fatalf("%d SVG charts, want 5 (updates/s, bytes/s, clients, latency per second, latency histogram)", len(svgs))
	}
	for i, svg := range svgs {
		if err := wellFormed(svg); err != nil {
			t.Errorf("chart %d is not well-formed: %v", i, err)
		}
	}
	for i, title := range []string{"Updates received per second", "Bytes received per second", "Clients connected", "Latency per second"} {
		if !strings.Contains(svgs[i], title) || !strings.Contains(svgs[i], "<polyline") {
			t.Errorf("chart %d lacks its title %q or its line", i, title)
		}
	}
	if h := svgs[4]; !strings.Contains(h, "latency") || strings.Count(h, "<rect") < 5 || !strings.Contains(h, "p99") {
		t.Errorf("latency histogram has no bars or no p99 mark: %.300s", h)
	}
	// The updates/s chart is in updates per second of each interval.
	if !strings.Contains(svgs[0], ">160<") && !strings.Contains(svgs[0], ">200<") {
		t.Errorf("updates/s chart axis does not reach 160/s: %.600s", svgs[0])
	}

	// Every field, by its JSON name.
	rt := reflect.TypeOf(r)
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		if !strings.Contains(page, ">"+name+"<") {
			t.Errorf("field table lacks %s", name)
		}
	}
	for _, want := range []string{"125.00 µs", "99.50 %", "2 rooms × 4 players = 8 clients"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	// Text from the report is escaped, not markup.
	r.Behaviour = `<script src="https://evil.example/x.js"></script>`
	b.Reset()
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<script") || !strings.Contains(b.String(), "&lt;script") {
		t.Error("the behaviour's name was not escaped")
	}
}

// A report without series or samples (NewReport alone, a run whose server
// has no stats) still makes a page.
func TestWriteHTMLEmpty(t *testing.T) {
	r := NewReport(nil, []error{errors.New("refused")}, time.Second)
	r.ServerStatsError = "server stats: 404 Not Found"
	var b strings.Builder
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"no data", "server stats unavailable", "The run shows faults"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if _, err := json.Marshal(r); err != nil {
		t.Fatal(err)
	}
}

func wellFormed(fragment string) error {
	d := xml.NewDecoder(strings.NewReader(fragment))
	for {
		if _, err := d.Token(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}
