package bots

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// The connect four board (package game/connect4).
const (
	c4Rows = 6
	c4Cols = 7
)

// Connect4 is a connect four behaviour (package game/connect4): on its turn
// it plays a winning column if it has one, else blocks the opponent's, else
// picks a column at random (seeded) that does not hand the opponent a win,
// where it can. A move is the game message op 1 with the column's byte. It
// reads the schema by name: the room fields "r<row>c<col>", "turn", "moves"
// and "winner" and the player field "color". It sends the neutral input
// (the game has none) at every Act, and a move once per turn, again only if
// the move has not shown in the state c4Resend acts later.
type Connect4 struct {
	rng    *rand.Rand
	schema *Schema
	f      c4Fields
	ok     bool
	// move is the number of the move being played (the room's moves+1) and
	// column its column; waited counts the acts since it was sent.
	move, column int64
	waited       int
	send         bool // Messages sends the move
}

type c4Fields struct {
	cells                      [c4Rows][c4Cols]Field
	turn, moves, winner, color Field
}

const (
	c4OpDrop = 1
	// c4Resend is how many acts (at 10 Hz, a second) a move may take to show
	// before it is sent again.
	c4Resend = 10
)

// NewConnect4 returns a connect four player whose choices are fixed by seed.
func NewConnect4(seed uint64) *Connect4 {
	return &Connect4{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// Fits says whether the schema is the connect four one Connect4 reads.
func (c *Connect4) Fits(s *Schema) error {
	if c.lookup(s); !c.ok {
		return fmt.Errorf("connect4 needs room fields r0c0..r5c6, turn, moves, winner and player field color: %w", ErrWrongGame)
	}
	return nil
}

func (c *Connect4) lookup(s *Schema) {
	c.schema, c.ok = s, false
	var f c4Fields
	need := func(sh *Shape, name string, dst *Field) bool {
		v, ok := sh.Field(name)
		*dst = v
		return ok
	}
	for r := range c4Rows {
		for col := range c4Cols {
			if !need(&s.Room, fmt.Sprintf("r%dc%d", r, col), &f.cells[r][col]) {
				return
			}
		}
	}
	if need(&s.Room, "turn", &f.turn) && need(&s.Room, "moves", &f.moves) && need(&s.Room, "winner", &f.winner) &&
		need(&s.Player, "color", &f.color) {
		c.f, c.ok = f, true
	}
}

// Messages sends the move Next chose, if it is due.
func (c *Connect4) Messages(*Mirror, time.Time) []Message {
	if !c.send {
		return nil
	}
	c.send = false
	return []Message{{Op: c4OpDrop, Data: []byte{byte(c.column)}}}
}

// Next chooses its move when it is its turn; the input is always neutral.
func (c *Connect4) Next(m *Mirror, _ time.Time) Input {
	if s := m.Schema(); s == nil {
		return Input{}
	} else if s != c.schema {
		c.lookup(s)
	}
	if !c.ok || !m.Synced() || m.Phase() != tickwirev1.MatchPhase_MATCH_PHASE_RUNNING {
		return Input{}
	}
	f := &c.f
	room := m.Room().Values
	me, ok := m.Player(m.PlayerID())
	color := me.Values[f.color.Bit]
	if !ok || color == 0 || room[f.winner.Bit] != 0 || room[f.turn.Bit] != color {
		return Input{}
	}
	next := room[f.moves.Bit] + 1
	if c.move != next {
		var board [c4Rows][c4Cols]int64
		for r := range c4Rows {
			for col := range c4Cols {
				board[r][col] = room[f.cells[r][col].Bit]
			}
		}
		c.move, c.column = next, c.choose(&board, color)
		c.waited = c4Resend
	}
	if c.waited++; c.waited > c4Resend {
		c.send, c.waited = true, 0
	}
	return Input{}
}

// choose picks the column to play on board as color (1 or 2).
func (c *Connect4) choose(b *[c4Rows][c4Cols]int64, color int64) int64 {
	other := 3 - color
	var open, safe []int64
	for col := range int64(c4Cols) {
		if c4Height(b, col) < c4Rows {
			open = append(open, col)
		}
	}
	for _, who := range []int64{color, other} { // win, else block
		for _, col := range open {
			if c4Wins(b, col, who) {
				return col
			}
		}
	}
	for _, col := range open {
		r := c4Height(b, col)
		b[r][col] = color
		handsWin := false
		for _, o := range open {
			if c4Height(b, o) < c4Rows && c4Wins(b, o, other) {
				handsWin = true
			}
		}
		b[r][col] = 0
		if !handsWin {
			safe = append(safe, col)
		}
	}
	if len(safe) == 0 {
		safe = open
	}
	if len(safe) == 0 {
		return 0 // a full board: the game has ended it
	}
	return safe[c.rng.IntN(len(safe))]
}

func c4Height(b *[c4Rows][c4Cols]int64, col int64) int {
	for r := range c4Rows {
		if b[r][col] == 0 {
			return r
		}
	}
	return c4Rows
}

// c4Wins reports whether dropping color into col makes four in a line.
func c4Wins(b *[c4Rows][c4Cols]int64, col, color int64) bool {
	row := c4Height(b, col)
	if row == c4Rows {
		return false
	}
	for _, d := range [4][2]int{{0, 1}, {1, 0}, {1, 1}, {1, -1}} {
		n := 1
		for _, s := range []int{1, -1} {
			for r, k := row+d[0]*s, int(col)+d[1]*s; r >= 0 && r < c4Rows && k >= 0 && k < c4Cols && b[r][k] == color; r, k = r+d[0]*s, k+d[1]*s {
				n++
			}
		}
		if n >= 4 {
			return true
		}
	}
	return false
}
