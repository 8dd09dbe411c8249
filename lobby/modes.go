package lobby

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/lobby/leaderboard"
	"github.com/tickwire/tickwire/lobby/matchmaker"
)

// Mode is a kind of match players can queue for.
type Mode struct {
	Name string
	// Size is the number of seats; the matchmaker fills rooms of this size.
	Size int
	// Duration is the match length once running; 0 means no time limit.
	Duration time.Duration
	// ScoreLimit ends a match when a player reaches it; 0 means none.
	ScoreLimit int64
	// Game names the game the mode's rooms play ("arena", "tanks",
	// "connect4", as the server that hosts them knows its games); empty
	// means the server's default game. The lobby only carries it.
	Game string
}

// Boards every mode gets: the best match score ever, and the points summed per
// week.
func (m Mode) Boards() []leaderboard.Board {
	return []leaderboard.Board{
		{ID: m.Name, Order: leaderboard.Descending, Operator: leaderboard.Best},
		{ID: m.Name + "-weekly", Order: leaderboard.Descending, Operator: leaderboard.Increment, Reset: "@weekly"},
	}
}

// startWait is how long a room waits for all its seats to fill before the
// match starts with whoever came.
const startWait = 10 * time.Second

// Rules are the room rules of a match of this mode, at the given tick rate.
// The match starts when every seat is taken, or startWait after the first
// player arrived.
func (m Mode) Rules(tickRate int) game.Rules {
	return game.Rules{
		Mode:            m.Name,
		MaxPlayers:      m.Size,
		MinPlayers:      m.Size,
		DurationTicks:   uint64(m.Duration.Seconds() * float64(tickRate)),
		ScoreLimit:      m.ScoreLimit,
		StartAfterTicks: uint64(startWait.Seconds() * float64(tickRate)),
	}
}

func (m Mode) matchmaking() matchmaker.Mode {
	return matchmaker.Mode{Name: m.Name, Size: m.Size}
}

var modeName = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// ParseModes reads modes written as name:size[:duration[:scorelimit]][:game]
// joined by commas, e.g. "arena:16:2m,duel:2:60s:10,c4:2:10m:connect4,t:4:tanks".
// The last field names the mode's game when it starts with a letter (a
// duration and a score limit start with a digit); without it the mode plays
// the server's default game.
func ParseModes(s string) ([]Mode, error) {
	var out []Mode
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		f := strings.Split(part, ":")
		var gameName string
		if n := len(f); n > 2 && f[n-1] != "" && isLetter(f[n-1][0]) {
			gameName, f = f[n-1], f[:n-1]
			if !modeName.MatchString(gameName) {
				return nil, fmt.Errorf("mode %q: game %q: a name is 1 to 32 of a-z 0-9 _", part, gameName)
			}
		}
		if len(f) < 2 || len(f) > 4 {
			return nil, fmt.Errorf("mode %q: want name:size[:duration[:scorelimit]][:game]", part)
		}
		m := Mode{Name: f[0], Game: gameName}
		if !modeName.MatchString(m.Name) {
			return nil, fmt.Errorf("mode %q: name must be 1 to 32 of a-z 0-9 _", part)
		}
		if seen[m.Name] {
			return nil, fmt.Errorf("mode %q is given twice", m.Name)
		}
		seen[m.Name] = true
		size, err := strconv.Atoi(f[1])
		if err != nil || size < 1 || size > 1024 {
			return nil, fmt.Errorf("mode %q: size %q: want 1 to 1024", m.Name, f[1])
		}
		m.Size = size
		if len(f) > 2 {
			if m.Duration, err = time.ParseDuration(f[2]); err != nil || m.Duration < 0 {
				return nil, fmt.Errorf("mode %q: duration %q: want a Go duration like 2m", m.Name, f[2])
			}
		}
		if len(f) > 3 {
			if m.ScoreLimit, err = strconv.ParseInt(f[3], 10, 64); err != nil || m.ScoreLimit < 0 {
				return nil, fmt.Errorf("mode %q: score limit %q: want a whole number", m.Name, f[3])
			}
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no modes in %q", s)
	}
	return out, nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
