package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/netcode"
	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// TestBotsNameTheOpenRoomsGame: `tickwire bots --no-lobby --game connect4`
// against a server whose open rooms play the arena by default creates
// connect4 rooms (Join.game) and plays them to the game's own end.
func TestBotsNameTheOpenRoomsGame(t *testing.T) {
	tn := startNode(t, "arena:4:1m", netcode.Config{OpenRooms: true, Rules: game.Rules{Mode: "arena", MaxPlayers: 2, MinPlayers: 2}})
	var out, errs strings.Builder
	err := runBots([]string{"--url", tn.url, "--no-lobby", "--game", "connect4", "--rooms", "2", "--players", "2",
		"--duration", "60s", "--room-prefix", "named", "--seed", "3", "--json"}, &out, &errs)
	if err != nil {
		t.Fatalf("tickwire bots: %v\n%s", err, errs.String())
	}
	var rep bots.Report
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, out.String())
	}
	if rep.ClientsJoined != 4 || rep.Failed() != nil {
		t.Fatalf("%d bots joined, failed: %v", rep.ClientsJoined, rep.Failed())
	}
	final := tn.results()
	if len(final) != 2 {
		t.Fatalf("%d matches ended, want 2: %v", len(final), final)
	}
	for id, m := range final {
		if m.Mode != "connect4" || m.Result.Reason != game.EndGame {
			t.Fatalf("open room %s: mode %s ended with %s %q, want connect4's own end", id, m.Mode, m.Result.Reason, m.Result.Detail)
		}
	}
}

// TestOpenRoomGameRefusals: against a real server, a join naming another
// game than its open room's is refused with GAME_MISMATCH (4021), one naming
// a game the server does not host with UNKNOWN_GAME (4020), listing the
// games it hosts.
func TestOpenRoomGameRefusals(t *testing.T) {
	tn := startNode(t, "arena:4:1m", netcode.Config{OpenRooms: true, Rules: game.Rules{Mode: "arena", MaxPlayers: 4}})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	first, err := bots.Dial(ctx, bots.Config{URL: tn.url, RoomID: "t-1", Name: "Ann", Game: "tanks"})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if mode := first.Session().Match.GetMode(); mode != "tanks" {
		t.Fatalf("room created naming tanks plays %q", mode)
	}
	for _, tc := range []struct {
		game  string
		code  tickwirev1.ErrorCode
		close uint16
		says  []string
	}{
		{"arena", tickwirev1.ErrorCode_ERROR_CODE_GAME_MISMATCH, 4021, []string{`room "t-1" plays tanks, not arena`}},
		{"chess", tickwirev1.ErrorCode_ERROR_CODE_UNKNOWN_GAME, 4020, []string{`no game "chess"`, "arena, connect4, tanks"}},
	} {
		c, err := bots.Dial(ctx, bots.Config{URL: tn.url, RoomID: "t-1", Name: "Bob", Game: tc.game})
		if err == nil {
			c.Close()
			t.Fatalf("join naming %s to a tanks room: welcomed", tc.game)
		}
		var se *bots.ServerError
		if !errors.As(err, &se) || se.Code != tc.code || se.CloseCode != tc.close {
			t.Fatalf("join naming %s: %v; want %s, close %d", tc.game, err, tc.code, tc.close)
		}
		for _, s := range tc.says {
			if !strings.Contains(se.Message, s) {
				t.Fatalf("join naming %s: message %q does not say %q", tc.game, se.Message, s)
			}
		}
	}
}
