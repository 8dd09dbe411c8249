package connect4_test

import (
	"errors"
	"testing"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/connect4"
)

// table is a running connect four match between red (seat 1) and yellow
// (seat 2).
type table struct {
	t      *testing.T
	sim    *game.Sim
	red    *game.Player
	yellow *game.Player
	tick   uint64
}

func newTable(t *testing.T) *table {
	t.Helper()
	s, err := game.NewSim(connect4.New(), game.Rules{Mode: "connect4", MaxPlayers: 2, MinPlayers: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	tb := &table{t: t, sim: s}
	if tb.red, err = s.AddPlayer("red"); err != nil {
		t.Fatal(err)
	}
	if tb.yellow, err = s.AddPlayer("yellow"); err != nil {
		t.Fatal(err)
	}
	tb.advance(nil) // both seated: the match runs
	return tb
}

func (tb *table) advance(msgs []game.PlayerMessage) {
	tb.tick++
	tb.sim.AdvanceWith(tb.tick, nil, msgs)
}

// play has p drop into column and returns the refusal code the game sent
// p, or "" when the move was played.
func (tb *table) play(p *game.Player, column byte) string {
	tb.t.Helper()
	return tb.send(p, connect4.Play(column))
}

// send delivers one message from p and returns the refusal p got, or "":
// the events a Sim holds after a tick are that tick's.
func (tb *table) send(p *game.Player, m game.Message) string {
	tb.t.Helper()
	tb.advance([]game.PlayerMessage{{Player: p.ID, Message: m}})
	ev := tb.sim.World().Events()
	switch {
	case len(ev) == 0:
		return ""
	case len(ev) > 1 || ev[0].Op != connect4.OpRefused || len(ev[0].To) != 1 || ev[0].To[0] != p.ID:
		tb.t.Fatalf("events after a move: %+v, want at most one refusal to player %d", ev, p.ID)
	}
	return string(ev[0].Data)
}

func (tb *table) cell(row, col int) int {
	return tb.sim.World().Enum(connect4.Fields().Cells[row][col])
}

// TestConnect4Win plays a vertical four for red: the game ends the match
// itself, red first with a score of 1.
func TestConnect4Win(t *testing.T) {
	tb := newTable(t)
	h := connect4.Fields()
	if c := tb.red.Enum(h.Color); c != connect4.Red {
		t.Fatalf("first player's colour %d, want red", c)
	}
	for i := range 3 {
		if code := tb.play(tb.red, 3); code != "" {
			t.Fatalf("red's move %d refused with %q", i, code)
		}
		if code := tb.play(tb.yellow, 4); code != "" {
			t.Fatalf("yellow's move %d refused with %q", i, code)
		}
	}
	if tb.sim.Result() != nil {
		t.Fatal("the match ended before the fourth disc")
	}
	tb.play(tb.red, 3)
	res := tb.sim.Result()
	if res == nil || res.Reason != game.EndGame || res.Detail != connect4.ReasonFourInARow {
		t.Fatalf("result %+v, want the game's end with %q", res, connect4.ReasonFourInARow)
	}
	if res.Standings[0].Player != tb.red.ID || res.Standings[0].Score != 1 || res.Standings[1].Score != 0 {
		t.Fatalf("standings %+v, want red first with 1", res.Standings)
	}
	w := tb.sim.World()
	if w.Enum(h.Winner) != connect4.RedWins || w.Int(h.Moves) != 7 || tb.cell(3, 3) != connect4.Red || tb.cell(2, 4) != connect4.Yellow {
		t.Fatalf("board after the win: winner %d moves %d", w.Enum(h.Winner), w.Int(h.Moves))
	}
}

// TestConnect4Refusals: a move out of turn, off the board or into a full
// column is not played, and the player's record says why.
func TestConnect4Refusals(t *testing.T) {
	tb := newTable(t)
	h := connect4.Fields()
	if code := tb.play(tb.yellow, 0); code != connect4.NotYourTurn {
		t.Fatalf("yellow moving first: refusal %q, want not_your_turn", code)
	}
	if code := tb.play(tb.red, 7); code != connect4.NoSuchColumn {
		t.Fatalf("column 7: refusal %q, want no_such_column", code)
	}
	if code := tb.play(tb.red, 255); code != connect4.NoSuchColumn {
		t.Fatalf("column 255: refusal %q, want no_such_column", code)
	}
	for i := range connect4.Rows {
		p := tb.red
		if i%2 == 1 {
			p = tb.yellow
		}
		if code := tb.play(p, 0); code != "" {
			t.Fatalf("disc %d in column 0 refused with %q", i, code)
		}
	}
	if code := tb.play(tb.red, 0); code != connect4.ColumnFull {
		t.Fatalf("a seventh disc in column 0: refusal %q, want column_full", code)
	}
	if w := tb.sim.World(); w.Int(h.Moves) != 6 || w.Enum(h.Turn) != connect4.Red {
		t.Fatalf("after the refusals: %d moves, turn %d; want 6 and red", w.Int(h.Moves), w.Enum(h.Turn))
	}
	// A message that is not a drop of one column is refused as such.
	for _, m := range []game.Message{{Op: connect4.OpDrop, Data: []byte{1, 2}}, {Op: 9}} {
		if code := tb.send(tb.red, m); code != connect4.BadMessage || tb.cell(0, 1) != connect4.Empty {
			t.Fatalf("message %+v: refusal %q, want bad_message and nothing played", m, code)
		}
	}
}

// TestConnect4Draw fills the board with no four in a row: the game ends the
// match as a draw, both players on 0.
func TestConnect4Draw(t *testing.T) {
	tb := newTable(t)
	moves := []byte{5, 4, 5, 0, 6, 2, 4, 5, 5, 0, 4, 1, 1, 0, 4, 5, 6, 5, 3, 1, 1, 2, 2, 6, 2, 6, 6, 3, 6, 2, 0, 3, 0, 3, 3, 4, 3, 1, 4, 2, 1, 0}
	for i, c := range moves {
		p := tb.red
		if i%2 == 1 {
			p = tb.yellow
		}
		if code := tb.play(p, c); code != "" {
			t.Fatalf("move %d (column %d) refused with %q", i, c, code)
		}
	}
	res := tb.sim.Result()
	if res == nil || res.Detail != connect4.ReasonBoardFull || res.Standings[0].Rank != 1 || res.Standings[1].Rank != 1 {
		t.Fatalf("result %+v, want a draw on a full board", res)
	}
	if w := tb.sim.World(); w.Enum(connect4.Fields().Winner) != connect4.Draw {
		t.Fatalf("winner %d, want draw", w.Enum(connect4.Fields().Winner))
	}
}

// TestConnect4Seats: a third player is refused with the game's code, and a
// player leaving a started game forfeits it.
func TestConnect4Seats(t *testing.T) {
	s, err := game.NewSim(connect4.New(), game.Rules{MaxPlayers: 3, MinPlayers: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = s.AddPlayer("a")
	_, _ = s.AddPlayer("b")
	_, err = s.AddPlayer("c")
	var r *game.Refusal
	if !errors.As(err, &r) || r.Code != "table_full" {
		t.Fatalf("third player: %v, want the table_full refusal", err)
	}

	tb := newTable(t)
	tb.play(tb.red, 2)
	tb.sim.RemovePlayer(tb.red.ID)
	tb.advance(nil)
	res := tb.sim.Result()
	if res == nil || res.Detail != connect4.ReasonForfeit || res.Standings[0].Player != tb.yellow.ID || res.Standings[0].Score != 1 {
		t.Fatalf("result %+v, want yellow to win by forfeit", res)
	}
}
