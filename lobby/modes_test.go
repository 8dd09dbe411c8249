package lobby

import (
	"strings"
	"testing"
	"time"
)

// TestParseModesGame: a mode may name its game as its last field, after
// any of size, duration and score limit; the old forms keep working and
// name none.
func TestParseModesGame(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Mode
	}{
		{"duel:2:1m", Mode{Name: "duel", Size: 2, Duration: time.Minute}},
		{"duel:2:1m:10", Mode{Name: "duel", Size: 2, Duration: time.Minute, ScoreLimit: 10}},
		{"duel:2:1m:connect4", Mode{Name: "duel", Size: 2, Duration: time.Minute, Game: "connect4"}},
		{"war:4:tanks", Mode{Name: "war", Size: 4, Game: "tanks"}},
		{"war:4:3m:5:tanks", Mode{Name: "war", Size: 4, Duration: 3 * time.Minute, ScoreLimit: 5, Game: "tanks"}},
	} {
		got, err := ParseModes(tc.in)
		if err != nil || len(got) != 1 || got[0] != tc.want {
			t.Errorf("ParseModes(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ in, why string }{
		{"war:tanks", "size"},
		{"war:4:Tanks", "game"},
		{"war:4:1m:2:3:tanks", "want name:size"},
	} {
		if _, err := ParseModes(tc.in); err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParseModes(%q): %v, want an error about %s", tc.in, err, tc.why)
		}
	}
}
