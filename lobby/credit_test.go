package lobby

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/lobby/leaderboard"
)

// flakyBoards fails the submissions whose 1-based numbers are in fail, once
// each, as a store that drops a connection mid-result would.
type flakyBoards struct {
	leaderboard.Store
	mu    sync.Mutex
	calls int
	fail  map[int]bool
}

var errFlaky = errors.New("store went away")

func (f *flakyBoards) Submit(ctx context.Context, board, player, name string, score int64, at time.Time) (leaderboard.Entry, error) {
	f.mu.Lock()
	f.calls++
	fail := f.fail[f.calls]
	f.mu.Unlock()
	if fail {
		return leaderboard.Entry{}, errFlaky
	}
	return f.Store.Submit(ctx, board, player, name, score, at)
}

// TestCreditRetriesWithoutCountingTwice ends a match whose crediting fails
// part-way, twice, and checks that the retries write every score once: the
// weekly board adds points up, so a resubmitted standing would double them.
func TestCreditRetriesWithoutCountingTwice(t *testing.T) {
	// Submissions go standing by standing, best board then weekly board: 3
	// fails the second player's best, 5 the third player's best.
	var boards *flakyBoards
	l := newFaultLobby(t, func(c *Config) {
		c.Modes, _ = ParseModes("duo:3:1m")
		boards = &flakyBoards{Store: c.Leaderboards, fail: map[int]bool{3: true, 5: true}}
		c.Leaderboards = boards
	})
	bolt := boards.Store
	ctx, cancel := context.WithCancel(t.Context())
	l.Run(ctx)
	t.Cleanup(func() {
		cancel()
		_ = l.Close(context.Background())
	})

	want := map[string]int64{"a": 7, "b": 3, "c": 11}
	l.MatchEnded("duo", []game.Standing{
		{Player: 1, Account: "a", Name: "A", Score: 7, Rank: 2},
		{Player: 2, Account: "b", Name: "B", Score: 3, Rank: 3},
		{Player: 3, Account: "c", Name: "C", Score: 11, Rank: 1},
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		e, err := bolt.Rank(t.Context(), "duo-weekly", "", "c")
		if err == nil && e.Score > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the match was not credited within 10s: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, board := range []string{"duo", "duo-weekly"} {
		for player, score := range want {
			e, err := bolt.Rank(t.Context(), board, "", player)
			if err != nil {
				t.Fatalf("%s on %s: %v", player, board, err)
			}
			if e.Score != score {
				t.Errorf("%s on %s has %d, want %d (each standing credited once)", player, board, e.Score, score)
			}
		}
	}
	boards.mu.Lock()
	defer boards.mu.Unlock()
	if boards.calls != 8 { // 6 submissions and the 2 that failed
		t.Errorf("%d submissions made, want 8", boards.calls)
	}
}
