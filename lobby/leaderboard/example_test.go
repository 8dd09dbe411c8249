package leaderboard_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/tickwire/tickwire/lobby/leaderboard"
)

func Example() {
	dir, err := os.MkdirTemp("", "leaderboard")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := leaderboard.OpenBolt(filepath.Join(dir, "boards.db"), leaderboard.BoltOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	ctx := context.Background()
	board := leaderboard.Board{ID: "arena", Order: leaderboard.Descending, Operator: leaderboard.Best}
	if err := s.CreateBoard(ctx, board); err != nil {
		log.Fatal(err)
	}
	for _, r := range []struct {
		player, name string
		score        int64
	}{{"p1", "Ann", 120}, {"p2", "Bob", 340}, {"p3", "Cy", 120}, {"p1", "Ann", 90}} {
		if _, err := s.Submit(ctx, "arena", r.player, r.name, r.score, time.Time{}); err != nil {
			log.Fatal(err)
		}
	}
	top, _, err := s.Top(ctx, "arena", "", "", 10)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range top {
		fmt.Println(e.Rank, e.Name, e.Score)
	}
	// Output:
	// 1 Bob 340
	// 2 Ann 120
	// 3 Cy 120
}

func ExampleBoard_reset() {
	dir, err := os.MkdirTemp("", "leaderboard")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := leaderboard.OpenBolt(filepath.Join(dir, "boards.db"), leaderboard.BoltOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	ctx := context.Background()
	weekly := leaderboard.Board{ID: "kills-weekly", Operator: leaderboard.Increment, Reset: "@weekly"}
	if err := s.CreateBoard(ctx, weekly); err != nil {
		log.Fatal(err)
	}
	// A match that ended on Saturday 8 March 2025 counts for the week that
	// started on Sunday 2 March.
	at := time.Date(2025, 3, 8, 21, 0, 0, 0, time.UTC)
	if _, err := s.Submit(ctx, "kills-weekly", "p1", "Ann", 7, at); err != nil {
		log.Fatal(err)
	}
	e, err := s.Rank(ctx, "kills-weekly", "20250302T000000Z", "p1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(e.Rank, e.Name, e.Score)
	// Output:
	// 1 Ann 7
}
