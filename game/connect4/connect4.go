// Package connect4 is connect four on Tickwire: two players take turns to
// drop a disc into one of seven columns of a six-row board, and the first to
// line up four in a row, column or diagonal wins. It shows a game that looks
// nothing like the arena: no entity moves, the whole state is the room's
// record (the board, whose turn, the winner), moves are validated by the
// game, and the game ends its own match on a win, a draw or a forfeit. It is
// built only on the public API of package game.
//
// A move is a game message from the player (op [OpDrop], one byte: the
// column). A move the game refuses is not played, and the player alone gets
// a refusal message with that tick's frame (op [OpRefused], its bytes a
// stable code: "not_your_turn", "column_full", ...).
package connect4

import (
	"fmt"

	"github.com/tickwire/tickwire/game"
)

// The board's size.
const (
	Columns = 7
	Rows    = 6
)

// Op codes of connect4's game messages: OpDrop from a player (one byte,
// the column, 0 to 6), OpRefused to a player (the refusal's code).
const (
	OpDrop    = 1
	OpRefused = 2
)

// Disc colours: the values of each cell, of "turn" and of a player's
// "color". Red moves first.
const (
	Empty  = 0
	Red    = 1
	Yellow = 2
)

// Outcomes: the values of the room field "winner".
const (
	NoWinner  = 0
	RedWins   = 1
	YellowWin = 2
	Draw      = 3
)

// Refusals: the codes of an OpRefused message, stable for programs.
const (
	NotYourTurn     = "not_your_turn"
	ColumnFull      = "column_full"
	NoSuchColumn    = "no_such_column"
	NotRunning      = "not_running"          // the match is not running
	WaitingOpponent = "waiting_for_opponent" // one seat is empty
	BadMessage      = "bad_message"          // an unknown op, or not one byte
)

// End reasons the game gives World.EndMatch.
const (
	ReasonFourInARow = "four_in_a_row"
	ReasonBoardFull  = "board_full"
	ReasonForfeit    = "forfeit"
)

// Handles are connect4's schema and its field handles.
type Handles struct {
	*game.Schema
	// Cells are the room fields "r<row>c<col>", row 0 the bottom one, each
	// Empty, Red or Yellow.
	Cells [Rows][Columns]game.EnumField
	// Turn is whose move it is (Red or Yellow); Moves counts the discs
	// dropped; Winner is the outcome once there is one; Last is the column of
	// the last move, -1 before the first.
	Turn   game.EnumField
	Moves  game.IntField
	Winner game.EnumField
	Last   game.IntField
	// Color is each player's colour.
	Color game.EnumField
}

var schema = newSchema()

func newSchema() Handles {
	h := Handles{Schema: game.NewSchema()}
	for r := range Rows {
		for c := range Columns {
			h.Cells[r][c] = h.Room.Enum(fmt.Sprintf("r%dc%d", r, c), "empty", "red", "yellow")
		}
	}
	h.Turn = h.Room.Enum("turn", "none", "red", "yellow")
	h.Moves = h.Room.Int("moves")
	h.Winner = h.Room.Enum("winner", "none", "red", "yellow", "draw")
	h.Last = h.Room.Int("last")
	h.Color = h.Player.Enum("color", "none", "red", "yellow")
	return h
}

// Fields returns connect4's schema and field handles, for tests and tools
// that read a connect4 world.
func Fields() Handles { return schema }

// Play is the message that drops a disc into column.
func Play(column byte) game.Message { return game.Message{Op: OpDrop, Data: []byte{column}} }

// Game is one room's connect four. Make one per room with New.
type Game struct{}

// New returns a connect four game.
func New() *Game { return &Game{} }

// Schema is connect4's schema.
func (*Game) Schema() *game.Schema { return schema.Schema }

// Setup sets the empty board, red to move.
func (*Game) Setup(w *game.World) {
	w.SetEnum(schema.Turn, Red)
	w.SetInt(schema.Last, -1)
}

// AdmitPlayer refuses a third player: a board has two colours.
func (*Game) AdmitPlayer(w *game.World, _ game.JoinRequest) *game.Refusal {
	if free(w) == Empty {
		return &game.Refusal{Code: "table_full", Message: "both colours are taken"}
	}
	return nil
}

// free is the colour no seated player has, red first, or Empty.
func free(w *game.World) int {
	taken := [3]bool{}
	for _, p := range w.Players() {
		taken[p.Enum(schema.Color)] = true
	}
	switch {
	case !taken[Red]:
		return Red
	case !taken[Yellow]:
		return Yellow
	}
	return Empty
}

// AddPlayer gives the player the free colour (a player past the two,
// which AdmitPlayer refuses, would watch with none). A connect four player
// controls no entity.
func (*Game) AddPlayer(w *game.World, p *game.Player) game.EntityID {
	p.SetEnum(schema.Color, free(w)) // p is seated with no colour yet
	return 0
}

// RemovePlayer forfeits a running match to the player left at the board.
func (*Game) RemovePlayer(w *game.World, p *game.Player) {
	if w.Phase() != game.PhaseRunning || w.Enum(schema.Winner) != NoWinner || w.Int(schema.Moves) == 0 {
		return
	}
	for _, o := range w.Players() {
		if o.ID != p.ID {
			w.SetEnum(schema.Winner, o.Enum(schema.Color))
			w.SetScore(o.ID, 1)
		}
	}
	w.EndMatch(ReasonForfeit)
}

// ApplyInput does nothing: connect four has no input, only moves.
func (*Game) ApplyInput(*game.World, *game.Player, game.Input) {}

// HandleMessage plays a drop, or tells the player why it is refused.
func (g *Game) HandleMessage(w *game.World, p *game.Player, m game.Message) {
	code := BadMessage
	if m.Op == OpDrop && len(m.Data) == 1 {
		code = g.Drop(w, p, int64(m.Data[0]))
	}
	if code != "" {
		// A few bytes, and at most one per message a player may queue in
		// a tick: far within the event limits, so it cannot be refused.
		_ = w.Send(game.Message{Op: OpRefused, Data: []byte(code)}, p.ID)
	}
}

// Drop plays p's disc into column, or returns why it may not (a refusal
// code; "" when it was played). A winning or drawing move ends the match.
func (*Game) Drop(w *game.World, p *game.Player, column int64) string {
	color := p.Enum(schema.Color)
	switch {
	case w.Phase() != game.PhaseRunning || w.Enum(schema.Winner) != NoWinner:
		return NotRunning
	case len(w.Players()) < 2:
		return WaitingOpponent
	case column < 0 || column >= Columns:
		return NoSuchColumn
	case color != w.Enum(schema.Turn):
		return NotYourTurn
	}
	col := int(column)
	row := height(w, col)
	if row == Rows {
		return ColumnFull
	}
	w.SetEnum(schema.Cells[row][col], color)
	moves := w.Int(schema.Moves) + 1
	w.SetInt(schema.Moves, moves)
	w.SetInt(schema.Last, column)
	switch {
	case fourFrom(w, row, col, color):
		w.SetEnum(schema.Winner, color)
		w.SetEnum(schema.Turn, Empty)
		w.SetScore(p.ID, 1)
		w.EndMatch(ReasonFourInARow)
	case moves == Rows*Columns:
		w.SetEnum(schema.Winner, Draw)
		w.SetEnum(schema.Turn, Empty)
		w.EndMatch(ReasonBoardFull)
	default:
		w.SetEnum(schema.Turn, Red+Yellow-color)
	}
	return ""
}

// Step does nothing: the board changes only by moves.
func (*Game) Step(*game.World) {}

// height is the number of discs in column col.
func height(w *game.World, col int) int {
	for r := range Rows {
		if w.Enum(schema.Cells[r][col]) == Empty {
			return r
		}
	}
	return Rows
}

// fourFrom reports whether the disc at (row, col) is in a line of four of
// its colour.
func fourFrom(w *game.World, row, col, color int) bool {
	for _, d := range [4][2]int{{0, 1}, {1, 0}, {1, 1}, {1, -1}} {
		n := 1 + run(w, row, col, d[0], d[1], color) + run(w, row, col, -d[0], -d[1], color)
		if n >= 4 {
			return true
		}
	}
	return false
}

// run counts the discs of color from (row, col), not counting it, in
// direction (dr, dc).
func run(w *game.World, row, col, dr, dc, color int) int {
	n := 0
	for r, c := row+dr, col+dc; r >= 0 && r < Rows && c >= 0 && c < Columns; r, c = r+dr, c+dc {
		if w.Enum(schema.Cells[r][c]) != color {
			break
		}
		n++
	}
	return n
}
