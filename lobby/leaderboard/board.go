package leaderboard

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/robfig/cron/v3"
)

// boardInfo is a validated Board with its parsed schedule. Both stores keep
// one per board; it is immutable apart from the schedule's cache.
type boardInfo struct {
	Board
	sched *schedule // nil when Reset is ""
}

// newBoardInfo validates b.
func newBoardInfo(b Board, now time.Time) (*boardInfo, error) {
	if err := checkBoardID(b.ID); err != nil {
		return nil, err
	}
	if b.Order != Descending && b.Order != Ascending {
		return nil, fmt.Errorf("%w: board %s: order %d", ErrInvalid, b.ID, int(b.Order))
	}
	if b.Operator != Best && b.Operator != Set && b.Operator != Increment {
		return nil, fmt.Errorf("%w: board %s: operator %d", ErrInvalid, b.ID, int(b.Operator))
	}
	bi := &boardInfo{Board: b}
	if b.Reset != "" {
		s, err := parseSchedule(b.Reset)
		if err != nil {
			return nil, fmt.Errorf("board %s: %w", b.ID, err)
		}
		if _, err := s.periodAt(now); err != nil {
			return nil, fmt.Errorf("board %s: %w", b.ID, err)
		}
		bi.sched = s
	}
	return bi, nil
}

// boardConfig is how a board's configuration is stored, as JSON.
type boardConfig struct {
	Order    Order    `json:"order"`
	Operator Operator `json:"operator"`
	Reset    string   `json:"reset,omitempty"`
}

func (bi *boardInfo) config() []byte {
	b, err := json.Marshal(boardConfig{bi.Order, bi.Operator, bi.Reset})
	if err != nil {
		panic("leaderboard: marshal a validated board: " + err.Error())
	}
	return b
}

// parseBoard reads a stored configuration back.
func parseBoard(id string, config []byte, now time.Time) (*boardInfo, error) {
	var c boardConfig
	if err := json.Unmarshal(config, &c); err != nil {
		return nil, fmt.Errorf("board %s: stored configuration: %w", id, err)
	}
	return newBoardInfo(Board{ID: id, Order: c.Order, Operator: c.Operator, Reset: c.Reset}, now)
}

// sortKey maps a score to the key both stores sort ascending: the score
// itself for Ascending boards, its negation for Descending ones. Ties on the
// key are broken by player id, ascending.
func (bi *boardInfo) sortKey(score int64) int64 {
	if bi.Order == Descending {
		return -score
	}
	return score
}

// score is sortKey's inverse.
func (bi *boardInfo) score(key int64) int64 { return bi.sortKey(key) }

func (bi *boardInfo) entry(player, name string, key, updated, rank int64) Entry {
	return Entry{Player: player, Name: name, Score: bi.score(key), Rank: rank, UpdatedAt: time.Unix(0, updated).UTC()}
}

// apply combines a player's current score (had says whether there is one)
// with a submitted one. Both are within ±MaxScore.
func (bi *boardInfo) apply(cur int64, had bool, score int64) (int64, error) {
	switch {
	case !had || bi.Operator == Set:
		return score, nil
	case bi.Operator == Best:
		if bi.sortKey(score) < bi.sortKey(cur) {
			return score, nil
		}
		return cur, nil
	}
	sum := cur + score
	if err := checkScore(sum); err != nil {
		return 0, fmt.Errorf("increment %d by %d: %w", cur, score, err)
	}
	return sum, nil
}

// seasonAt returns the id of the season containing t.
func (bi *boardInfo) seasonAt(t time.Time) (string, error) {
	if bi.sched == nil {
		return AllSeason, nil
	}
	p, err := bi.sched.periodAt(t)
	if err != nil {
		return "", fmt.Errorf("board %s: %w", bi.ID, err)
	}
	return p.start.Format(SeasonIDLayout), nil
}

// resolveSeason checks a season id given by a caller; "" means the season
// current at now.
func (bi *boardInfo) resolveSeason(season string, now time.Time) (string, error) {
	if season == "" {
		return bi.seasonAt(now)
	}
	if _, err := bi.season(season, ""); err != nil {
		return "", err
	}
	return season, nil
}

// season describes a season from its id; current is the id of the current
// season, whose End is left zero.
func (bi *boardInfo) season(id, current string) (Season, error) {
	if bi.sched == nil {
		if id != AllSeason {
			return Season{}, fmt.Errorf("%w: board %s has the single season %q, not %q", ErrInvalid, bi.ID, AllSeason, id)
		}
		return Season{ID: AllSeason}, nil
	}
	start, err := time.Parse(SeasonIDLayout, id)
	if err == nil {
		var p period
		p, err = bi.sched.periodAt(start)
		if err == nil && !p.start.Equal(start) {
			err = fmt.Errorf("no season of %q starts then", bi.Reset)
		}
		if err == nil {
			s := Season{ID: id, Start: start}
			if id != current {
				s.End = p.end
			}
			return s, nil
		}
	}
	return Season{}, fmt.Errorf("%w: board %s: season %q: %v", ErrInvalid, bi.ID, id, err)
}

// seasons turns the ids of the seasons that hold scores into Seasons'
// answer: those plus the current one, newest first.
func (bi *boardInfo) seasons(ids []string, now time.Time) ([]Season, error) {
	current, err := bi.seasonAt(now)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(ids, current) {
		ids = append(ids, current)
	}
	// Season ids of one board have a fixed width, so they sort as times do.
	slices.Sort(ids)
	slices.Reverse(ids)
	out := make([]Season, 0, len(ids))
	for _, id := range ids {
		s, err := bi.season(id, current)
		if err != nil {
			return nil, fmt.Errorf("stored season: %w", err)
		}
		out = append(out, s)
	}
	return out, nil
}

// schedule is a board's reset schedule, in UTC.
type schedule struct {
	spec *cron.SpecSchedule
	// last is the period most recently asked for: Submit's hot path asks for
	// the same one over and over, and finding a period walks the schedule.
	last atomic.Pointer[period]
}

// period is one season: [start, end). end is zero if the schedule never
// fires again.
type period struct{ start, end time.Time }

func parseSchedule(spec string) (*schedule, error) {
	if strings.HasPrefix(spec, "@every") || strings.Contains(spec, "TZ=") {
		return nil, fmt.Errorf("%w: reset %q: want a descriptor or 5 cron fields, in UTC", ErrInvalid, spec)
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("%w: reset %q: %v", ErrInvalid, spec, err)
	}
	ss, ok := s.(*cron.SpecSchedule)
	if !ok || ss.Location != time.Local {
		return nil, fmt.Errorf("%w: reset %q: want a descriptor or 5 cron fields, in UTC", ErrInvalid, spec)
	}
	return &schedule{spec: ss}, nil
}

// maxLookback bounds the search for the start of a period: cron fields
// without a year repeat within a few years.
const maxLookback = 9 * 366 * 24 * time.Hour

// periodAt returns the period containing t: its start is the latest firing
// of the schedule at or before t.
func (s *schedule) periodAt(t time.Time) (period, error) {
	t = t.UTC()
	if p := s.last.Load(); p != nil && !t.Before(p.start) && t.Before(p.end) {
		return *p, nil
	}
	// Widen a window back from t until the schedule fires inside it, then
	// walk forward to the last firing not after t.
	for w := time.Minute; w <= 2*maxLookback; w *= 2 {
		start := s.spec.Next(t.Add(-w))
		if start.IsZero() || start.After(t) {
			continue
		}
		for {
			next := s.spec.Next(start)
			if next.IsZero() || next.After(t) {
				p := &period{start: start, end: next}
				s.last.Store(p)
				return *p, nil
			}
			start = next
		}
	}
	return period{}, fmt.Errorf("%w: reset schedule never fires before %v", ErrInvalid, t)
}
