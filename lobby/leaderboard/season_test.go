package leaderboard

import (
	"errors"
	"testing"
	"time"
)

func TestSchedulePeriods(t *testing.T) {
	d := func(y int, m time.Month, day, h, min int) time.Time {
		return time.Date(y, m, day, h, min, 0, 0, time.UTC)
	}
	tokyo := time.FixedZone("JST", 9*3600)
	tests := []struct {
		spec       string
		at         time.Time
		start, end time.Time
	}{
		{"@daily", d(2025, 3, 10, 12, 30), d(2025, 3, 10, 0, 0), d(2025, 3, 11, 0, 0)},
		{"@daily", d(2025, 3, 10, 0, 0), d(2025, 3, 10, 0, 0), d(2025, 3, 11, 0, 0)},
		{"@daily", d(2025, 3, 10, 0, 0).Add(-time.Nanosecond), d(2025, 3, 9, 0, 0), d(2025, 3, 10, 0, 0)},
		{"@daily", time.Date(2025, 3, 10, 8, 0, 0, 0, tokyo), d(2025, 3, 9, 0, 0), d(2025, 3, 10, 0, 0)},
		{"@weekly", d(2025, 3, 10, 12, 30), d(2025, 3, 9, 0, 0), d(2025, 3, 16, 0, 0)}, // Sundays
		{"@monthly", d(2025, 3, 10, 12, 30), d(2025, 3, 1, 0, 0), d(2025, 4, 1, 0, 0)},
		{"@yearly", d(2025, 3, 10, 12, 30), d(2025, 1, 1, 0, 0), d(2026, 1, 1, 0, 0)},
		{"@hourly", d(2025, 3, 10, 12, 30), d(2025, 3, 10, 12, 0), d(2025, 3, 10, 13, 0)},
		{"0 */6 * * *", d(2025, 3, 10, 12, 30), d(2025, 3, 10, 12, 0), d(2025, 3, 10, 18, 0)},
		{"0 */6 * * *", d(2025, 3, 10, 5, 59), d(2025, 3, 10, 0, 0), d(2025, 3, 10, 6, 0)},
		{"30 4 * * 1-5", d(2025, 3, 10, 3, 0), d(2025, 3, 7, 4, 30), d(2025, 3, 10, 4, 30)},
		{"0 0 29 2 *", d(2025, 3, 10, 12, 30), d(2024, 2, 29, 0, 0), d(2028, 2, 29, 0, 0)},
		{"* * * * *", d(2025, 3, 10, 12, 30).Add(59 * time.Second), d(2025, 3, 10, 12, 30), d(2025, 3, 10, 12, 31)},
	}
	for _, tt := range tests {
		s, err := parseSchedule(tt.spec)
		if err != nil {
			t.Fatalf("%s: %v", tt.spec, err)
		}
		for range 2 { // the second time from the cache
			p, err := s.periodAt(tt.at)
			if err != nil {
				t.Fatalf("%s at %v: %v", tt.spec, tt.at, err)
			}
			if !p.start.Equal(tt.start) || !p.end.Equal(tt.end) {
				t.Errorf("%s at %v: [%v, %v), want [%v, %v)", tt.spec, tt.at, p.start, p.end, tt.start, tt.end)
			}
		}
	}
}

func TestCursor(t *testing.T) {
	c := encodeCursor("arena", "20250310T000000Z", 1234)
	season, off, err := decodeCursor("arena", c)
	if err != nil || season != "20250310T000000Z" || off != 1234 {
		t.Fatalf("round trip: %q %d %v", season, off, err)
	}
	if _, _, err := decodeCursor("other", c); !errors.Is(err, ErrBadCursor) {
		t.Fatalf("another board's cursor: %v", err)
	}
	for i := range len(c) {
		b := []byte(c)
		b[i] ^= 0x01
		if _, _, err := decodeCursor("arena", string(b)); !errors.Is(err, ErrBadCursor) {
			t.Fatalf("cursor with byte %d flipped (%q) accepted", i, b)
		}
	}
	for n := range len(c) {
		if _, _, err := decodeCursor("arena", c[:n]); !errors.Is(err, ErrBadCursor) {
			t.Fatalf("cursor cut to %d accepted", n)
		}
	}
}
