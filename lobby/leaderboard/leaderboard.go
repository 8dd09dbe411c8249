package leaderboard

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/tickwire/tickwire/internal/names"
)

// Errors returned by a Store, wrapped with context; compare with errors.Is.
var (
	// ErrUnknownBoard: no board has the given id.
	ErrUnknownBoard = errors.New("leaderboard: unknown board")
	// ErrBoardExists: CreateBoard was given an id already used by a board
	// with a different configuration.
	ErrBoardExists = errors.New("leaderboard: board exists with a different configuration")
	// ErrNotRanked: the player has no score in that season of the board.
	ErrNotRanked = errors.New("leaderboard: player not ranked")
	// ErrInvalid: an argument is out of range or malformed. The store is
	// unchanged.
	ErrInvalid = errors.New("leaderboard: invalid argument")
	// ErrBadCursor: a Top cursor was not one this board handed out.
	ErrBadCursor = errors.New("leaderboard: bad cursor")
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("leaderboard: store closed")
)

// Limits on what a caller may pass. Both stores enforce the same ones, so a
// board behaves the same whichever store holds it.
const (
	// MaxScore bounds scores: |score| ≤ 2^53, the range of integers a Redis
	// sorted-set score (a float64) holds exactly. Submit rejects a score,
	// or an Increment result, outside it with ErrInvalid.
	MaxScore = 1 << 53
	// MaxBoardID is the longest board id, in bytes.
	MaxBoardID = 64
	// MaxPlayerID is the longest player id, in bytes.
	MaxPlayerID = 128
	// MaxName is the longest display name, in bytes; the name also follows
	// the rule of internal/names (at most names.Max characters).
	MaxName = names.MaxBytes
	// MaxLimit is the largest page Top returns.
	MaxLimit = 1000
	// MaxAround is the largest n Around accepts.
	MaxAround = 100
)

// Order says which scores rank first.
type Order int

const (
	// Descending ranks higher scores first. It is the zero value.
	Descending Order = iota
	// Ascending ranks lower scores first (times, strokes).
	Ascending
)

// Operator says how a submitted score combines with the player's current one.
type Operator int

const (
	// Best keeps the better of the current and the submitted score, per the
	// board's Order. It is the zero value.
	Best Operator = iota
	// Set overwrites the current score.
	Set
	// Increment adds the submitted score (which may be negative) to the
	// current one, starting from 0.
	Increment
)

// Board is a named leaderboard's configuration. A board's configuration does
// not change once created; delete and create it again to change it.
type Board struct {
	// ID names the board: 1 to 64 characters from [a-z0-9_.-].
	ID       string
	Order    Order
	Operator Operator
	// Reset is a cron schedule, in UTC, at which the board starts a new
	// season: "@daily", "@weekly", "@monthly", "@yearly", "@hourly" or five
	// fields ("0 */6 * * *"). Empty means the board never resets and has the
	// single season "all". Past seasons stay readable.
	Reset string
}

// Entry is one player's standing in a season of a board.
type Entry struct {
	Player string
	Name   string
	Score  int64
	// Rank is 1-based; no two entries share a rank: ties on score are broken
	// by player id, ascending byte order.
	Rank int64
	// UpdatedAt is the time given to the latest Submit for this entry,
	// whether or not it changed the score.
	UpdatedAt time.Time
}

// Season is one period of a board. Its ID is the period's start in UTC,
// formatted as SeasonIDLayout, or "all" for a board without Reset.
type Season struct {
	ID    string
	Start time.Time // zero for "all"
	End   time.Time // zero for the current season and for "all"
}

// SeasonIDLayout is the time layout of season ids of boards that reset.
const SeasonIDLayout = "20060102T150405Z"

// AllSeason is the id of the one season of a board without Reset.
const AllSeason = "all"

// Store keeps named leaderboards durably. Both implementations, BoltStore
// and RedisStore, order, combine and page scores identically. All methods are
// safe for concurrent use.
type Store interface {
	// CreateBoard creates a board. It is idempotent for an identical
	// configuration and fails with ErrBoardExists for a different one, and
	// with ErrInvalid for a bad id, order, operator or schedule.
	CreateBoard(ctx context.Context, b Board) error
	// Board returns a board's configuration, or ErrUnknownBoard.
	Board(ctx context.Context, id string) (Board, error)
	// Boards lists all boards, by id.
	Boards(ctx context.Context) ([]Board, error)
	// DeleteBoard deletes a board and all its seasons.
	DeleteBoard(ctx context.Context, id string) error
	// Submit applies the board's operator to the player's score in the
	// season containing at (zero at means now) and sets the player's name.
	// It returns once the result is durable, with the entry and its rank.
	Submit(ctx context.Context, board, player, name string, score int64, at time.Time) (Entry, error)
	// Top lists up to limit (1..MaxLimit) entries from rank 1, or from where
	// cursor points. next is "" after the last entry; otherwise pass it as
	// cursor for the next page, which stays in the same season. Season ""
	// is the current season.
	Top(ctx context.Context, board, season, cursor string, limit int) (entries []Entry, next string, err error)
	// Rank returns a player's entry, or ErrNotRanked.
	Rank(ctx context.Context, board, season, player string) (Entry, error)
	// Around returns the player's entry with up to n (0..MaxAround)
	// entries either side of it, in rank order; ErrNotRanked if the player
	// has no entry.
	Around(ctx context.Context, board, season, player string, n int) ([]Entry, error)
	// Seasons lists the seasons that hold scores, and the current one,
	// newest first.
	Seasons(ctx context.Context, board string) ([]Season, error)
	// Close releases the store. Calls after Close fail with ErrClosed.
	Close() error
}

// String returns "descending" or "ascending".
func (o Order) String() string {
	switch o {
	case Descending:
		return "descending"
	case Ascending:
		return "ascending"
	}
	return fmt.Sprintf("Order(%d)", int(o))
}

// MarshalText implements encoding.TextMarshaler.
func (o Order) MarshalText() ([]byte, error) {
	if o != Descending && o != Ascending {
		return nil, fmt.Errorf("%w: order %d", ErrInvalid, int(o))
	}
	return []byte(o.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (o *Order) UnmarshalText(b []byte) error {
	switch string(b) {
	case "descending":
		*o = Descending
	case "ascending":
		*o = Ascending
	default:
		return fmt.Errorf("%w: order %q, want descending or ascending", ErrInvalid, b)
	}
	return nil
}

// String returns "best", "set" or "increment".
func (op Operator) String() string {
	switch op {
	case Best:
		return "best"
	case Set:
		return "set"
	case Increment:
		return "increment"
	}
	return fmt.Sprintf("Operator(%d)", int(op))
}

// MarshalText implements encoding.TextMarshaler.
func (op Operator) MarshalText() ([]byte, error) {
	if op != Best && op != Set && op != Increment {
		return nil, fmt.Errorf("%w: operator %d", ErrInvalid, int(op))
	}
	return []byte(op.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (op *Operator) UnmarshalText(b []byte) error {
	switch string(b) {
	case "best":
		*op = Best
	case "set":
		*op = Set
	case "increment":
		*op = Increment
	default:
		return fmt.Errorf("%w: operator %q, want best, set or increment", ErrInvalid, b)
	}
	return nil
}

func checkBoardID(id string) error {
	if len(id) == 0 || len(id) > MaxBoardID {
		return fmt.Errorf("%w: board id must be 1..%d characters, got %d", ErrInvalid, MaxBoardID, len(id))
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			return fmt.Errorf("%w: board id %q: only [a-z0-9_.-] allowed", ErrInvalid, id)
		}
	}
	if id == "." || id == ".." {
		// As a path segment of the API it would be cleaned away.
		return fmt.Errorf("%w: board id %q is not allowed", ErrInvalid, id)
	}
	return nil
}

func checkPlayer(player string) error {
	if len(player) == 0 || len(player) > MaxPlayerID {
		return fmt.Errorf("%w: player id must be 1..%d bytes, got %d", ErrInvalid, MaxPlayerID, len(player))
	}
	if !utf8.ValidString(player) {
		return fmt.Errorf("%w: player id is not valid UTF-8", ErrInvalid)
	}
	return nil
}

// checkName refuses a name that is not as names.Check returns it: hostile
// characters, too long, or not trimmed.
func checkName(name string) error {
	clean, err := names.Check(name)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if clean != name {
		return fmt.Errorf("%w: name has leading or trailing white space", ErrInvalid)
	}
	return nil
}

func checkScore(score int64) error {
	if score > MaxScore || score < -MaxScore {
		return fmt.Errorf("%w: score %d is outside ±2^53", ErrInvalid, score)
	}
	return nil
}

func checkLimit(limit int) error {
	if limit < 1 || limit > MaxLimit {
		return fmt.Errorf("%w: limit must be 1..%d, got %d", ErrInvalid, MaxLimit, limit)
	}
	return nil
}

func checkAround(n int) error {
	if n < 0 || n > MaxAround {
		return fmt.Errorf("%w: n must be 0..%d, got %d", ErrInvalid, MaxAround, n)
	}
	return nil
}

// Submit times are stored as Unix nanoseconds, defined for these years.
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
)

// submitTime returns at, or now if at is zero, in UTC.
func submitTime(at time.Time, now func() time.Time) (time.Time, error) {
	if at.IsZero() {
		at = now()
	}
	if at.Before(minTime) || !at.Before(maxTime) {
		return time.Time{}, fmt.Errorf("%w: time %v is outside 1970..2261", ErrInvalid, at)
	}
	return at.UTC(), nil
}

func notRanked(player, season string) error {
	return fmt.Errorf("%w: %s in season %s", ErrNotRanked, player, season)
}

// checkSubmit validates Submit's arguments other than the board.
func checkSubmit(player, name string, score int64) error {
	if err := checkPlayer(player); err != nil {
		return err
	}
	if err := checkName(name); err != nil {
		return err
	}
	return checkScore(score)
}
