package main

import (
	"context"
	"errors"
	"flag"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/connect4"
	"github.com/tickwire/tickwire/game/tanks"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// gameMatch plays rooms × players bots of one game, seated through the
// lobby's room API in rooms of the mode, to the end of their matches against
// a real server on loopback, and checks what every bot saw against the
// server: every bot joined, no desyncs, every mirror equals the server's
// final state, the final scores match, and every match ended by the game's
// own rule with one of the reasons given.
func gameMatch(t *testing.T, gameName, modes, mode string, rooms, players int, reasons ...string) map[string]netcode.MatchResult {
	t.Helper()
	tn := startNode(t, modes, netcode.Config{})
	lob, err := bots.NewLobby(tn.url)
	if err != nil {
		t.Fatal(err)
	}
	runner, err := bots.NewRunner(bots.RunConfig{
		URL: tn.url, Rooms: rooms, Players: players, Duration: 90 * time.Second,
		Game: gameName, RoomPrefix: gameName, Seed: 5, Seat: bots.RoomSeats(lob, mode, gameName),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 120*time.Second)
	defer cancel()
	rep, err := runner.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ClientsJoined != rooms*players || rep.JoinFailures != 0 {
		t.Fatalf("%d of %d bots joined, %d failed: %v", rep.ClientsJoined, rooms*players, rep.JoinFailures, runner.JoinErrors())
	}
	if rep.Desyncs != 0 {
		t.Fatalf("%d desyncs", rep.Desyncs)
	}
	final := tn.results()
	checkAgainstServer(t, runner.Clients(), final, rooms)
	for id, m := range final {
		if m.Mode != mode || m.Result.Reason != game.EndGame || !oneOf(m.Result.Detail, reasons) {
			t.Fatalf("room %s (mode %s) ended with %s %q, want the game's own end, one of %v", id, m.Mode, m.Result.Reason, m.Result.Detail, reasons)
		}
	}
	for _, c := range runner.Clients() {
		end := c.Stats().MatchEnd
		if end.Reason != tickwirev1.MatchEndReason_MATCH_END_REASON_GAME || end.Detail != final[c.Stats().RoomID].Result.Detail {
			t.Fatalf("bot %s saw the match end with %s %q, the server with %q", c.Stats().Name, end.Reason, end.Detail, final[c.Stats().RoomID].Result.Detail)
		}
	}
	return final
}

func oneOf(s string, list []string) bool {
	for _, v := range list {
		if s == v {
			return true
		}
	}
	return false
}

// TestBotMatchConnect4 plays 3 connect four tables of 2 bots to the end: each
// ends on a win or a full board, the winner on 1 and the board in the room
// record as the game left it.
func TestBotMatchConnect4(t *testing.T) {
	final := gameMatch(t, "connect4", "c4:2:2m:connect4", "c4", 3, 2, connect4.ReasonFourInARow, connect4.ReasonBoardFull)
	for id, m := range final {
		top := m.Result.Standings[0]
		if m.Result.Detail == connect4.ReasonFourInARow && (top.Score != 1 || m.Result.Standings[1].Score != 0) {
			t.Fatalf("room %s: a win with standings %+v, want 1 and 0", id, m.Result.Standings)
		}
	}
}

// TestBotMatchTanks plays 2 battles of 2 against 2 hunting bots to the end:
// each ends when a team has won its rounds (or, after drawn rounds, when
// the rounds are played).
func TestBotMatchTanks(t *testing.T) {
	final := gameMatch(t, "tanks", "war:4:3m:tanks", "war", 2, 4, tanks.ReasonRoundsWon, tanks.ReasonRoundsPlayed)
	for id, m := range final {
		var kills int64
		for _, p := range m.Players {
			kills += p.Int(tanks.Fields().Kills)
		}
		if kills == 0 {
			t.Fatalf("room %s: no tank was ever put out, yet the match ended by rounds won", id)
		}
	}
}

// TestBotMatchArenaByGame: the arena is one game among others, named as
// the game of its mode.
func TestBotMatchArenaByGame(t *testing.T) {
	tn := startNode(t, "ffa:4:2s:arena", netcode.Config{})
	lob, err := bots.NewLobby(tn.url)
	if err != nil {
		t.Fatal(err)
	}
	runner, err := bots.NewRunner(bots.RunConfig{
		URL: tn.url, Rooms: 2, Players: 4, Duration: 30 * time.Second,
		Game: "arena", Behaviour: "chase", RoomPrefix: "ffa", Seed: 9, Seat: bots.RoomSeats(lob, "ffa", "ffa"),
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := play(t, runner, 8)
	checkAgainstServer(t, runner.Clients(), tn.results(), 2)
	if rep.EndReasons["time_limit"] != 2 {
		t.Fatalf("end reasons %v, want 2 time limits", rep.EndReasons)
	}
}

// refuser is a connect four client that plays moves the game must refuse:
// red into column 9, yellow into column 3 though it is not its turn. It
// keeps the refusal the game sent it last.
type refuser struct {
	red   bool
	moves atomic.Int64 // the room's moves, as last seen
	seen  atomic.Value // string: the last refusal code received
}

func (r *refuser) Next(m *bots.Mirror, _ time.Time) bots.Input {
	if s := m.Schema(); s != nil && m.Synced() {
		color, _ := s.Player.Field("color")
		if me, ok := m.Player(m.PlayerID()); ok {
			r.red = me.Values[color.Bit] == connect4.Red
		}
		moves, _ := s.Room.Field("moves")
		r.moves.Store(m.Room().Values[moves.Bit])
	}
	return bots.Input{}
}

func (r *refuser) Messages(m *bots.Mirror, _ time.Time) []bots.Message {
	if !m.Synced() || m.Phase() != tickwirev1.MatchPhase_MATCH_PHASE_RUNNING {
		return nil
	}
	if r.red {
		return []bots.Message{connect4Drop(9)}
	}
	return []bots.Message{connect4Drop(3)}
}

func connect4Drop(column byte) bots.Message {
	return bots.Message{Op: connect4.OpDrop, Data: []byte{column}}
}

func (r *refuser) code() string {
	s, _ := r.seen.Load().(string)
	return s
}

// TestConnect4RefusalSeen: a client's wrong moves are refused by the game,
// and the client is told why in a game message to it alone, with that
// tick's frame: red playing off the board gets no_such_column, yellow
// playing out of turn not_your_turn. Nothing is played.
func TestConnect4RefusalSeen(t *testing.T) {
	tn := startNode(t, "c4:2:1m:connect4", netcode.Config{})
	lob, err := bots.NewLobby(tn.url)
	if err != nil {
		t.Fatal(err)
	}
	seats := bots.RoomSeats(lob, "c4", "refuse")
	var clients [2]*bots.Client
	var behaviours [2]*refuser
	for n := range clients {
		seat, err := seats(t.Context(), 0, n, "wrong")
		if err != nil {
			t.Fatal(err)
		}
		r := &refuser{}
		behaviours[n] = r
		clients[n], err = bots.Dial(t.Context(), bots.Config{
			URL: tn.url, RoomID: seat.RoomID, Ticket: seat.Ticket, Name: "wrong", Behaviour: r,
			OnEvent: func(_ uint64, op uint32, data []byte) {
				if op == connect4.OpRefused {
					r.seen.Store(string(data))
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer clients[n].Close()
	}
	want := [2]string{connect4.NoSuchColumn, connect4.NotYourTurn}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for behaviours[0].code() != want[0] || behaviours[1].code() != want[1] {
		select {
		case now := <-tick.C:
			for _, c := range clients {
				_ = c.Act(now)
			}
		case <-deadline:
			t.Fatalf("refusals heard: red %q, yellow %q; want %q and %q", behaviours[0].code(), behaviours[1].code(), want[0], want[1])
		}
	}
	if n := behaviours[0].moves.Load() + behaviours[1].moves.Load(); n != 0 {
		t.Fatalf("%d moves played; every move was wrong", n)
	}
}

// TestModesNameTheirGame: a mode's game must be one the binary hosts, and
// with open rooms no mode may be named for a game it does not play; each is
// refused at start with a message that names it.
func TestModesNameTheirGame(t *testing.T) {
	for _, tc := range []struct {
		modes, open, want string
	}{
		{"duel:2:1m:chess", "", `mode duel: unknown game "chess"`},
		{"tanks:4:1m:connect4", "tanks", "--open-game tanks: the mode of that name in --modes plays connect4"},
		// An open-room join may name tanks (Join.game): its room, of mode
		// tanks, would play connect4.
		{"tanks:4:1m:connect4", "arena", "mode tanks plays connect4, but with --open-rooms an open room of game tanks has mode tanks too"},
	} {
		lc := lobbyConfig{store: "embedded", dataDir: t.TempDir(), modes: tc.modes, ticketTTL: time.Minute}
		nc := netcode.Config{OpenRooms: tc.open != "", Rules: game.Rules{Mode: tc.open}}
		n, err := newNode(t.Context(), "127.0.0.1:0", nc, &lc, zerolog.Nop())
		if err == nil {
			_ = n.shutdown(context.Background())
			t.Fatalf("modes %q, open game %q: started", tc.modes, tc.open)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("modes %q, open game %q: %v, want it to say %q", tc.modes, tc.open, err, tc.want)
		}
	}
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	serveFlags(fs, &c)
	if err := fs.Parse([]string{"--open-game", "chess"}); err != nil {
		t.Fatal(err)
	}
	if err := c.validate(); err == nil || !strings.Contains(err.Error(), `--open-game "chess"`) {
		t.Fatalf("--open-game chess: %v, want it refused", err)
	}
}

// TestOpenRoomsPlayTheirGame: open rooms (joins without a lobby ticket)
// play --open-game's game: here connect4, on a server whose modes name only
// the arena, to the game's own end.
func TestOpenRoomsPlayTheirGame(t *testing.T) {
	tn := startNode(t, "arena:4:1m", netcode.Config{OpenRooms: true, Rules: game.Rules{Mode: "connect4", MaxPlayers: 2, MinPlayers: 2}})
	runner, err := bots.NewRunner(bots.RunConfig{
		URL: tn.url, Rooms: 2, Players: 2, Duration: 60 * time.Second, Game: "connect4", RoomPrefix: "open", Seed: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	play(t, runner, 4)
	final := tn.results()
	checkAgainstServer(t, runner.Clients(), final, 2)
	for id, m := range final {
		if m.Mode != "connect4" || m.Result.Reason != game.EndGame {
			t.Fatalf("open room %s: mode %s ended with %s %q, want connect4's own end", id, m.Mode, m.Result.Reason, m.Result.Detail)
		}
	}
}

// TestBotsOfAnotherGame: bots of one game sent to rooms of another fail to
// join with the reason, rather than stand still until the run times out.
func TestBotsOfAnotherGame(t *testing.T) {
	tn := startNode(t, "c4:2:1m:connect4", netcode.Config{})
	lob, err := bots.NewLobby(tn.url)
	if err != nil {
		t.Fatal(err)
	}
	runner, err := bots.NewRunner(bots.RunConfig{
		URL: tn.url, Rooms: 1, Players: 2, Duration: 30 * time.Second, Game: "tanks", Seat: bots.RoomSeats(lob, "c4", "wrong"),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	rep, err := runner.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	errs := runner.JoinErrors()
	if rep.ClientsJoined != 0 || len(errs) != 2 || !errors.Is(errs[0], bots.ErrWrongGame) {
		t.Fatalf("%d joined, join errors %v; want none joined, both for the wrong game", rep.ClientsJoined, errs)
	}
	if rep.Failed() == nil {
		t.Fatal("the run's report does not fail")
	}
}
