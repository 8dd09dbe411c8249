package netcode

import (
	"strings"
	"testing"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
	"github.com/tickwire/tickwire/game/connect4"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// joinGame sends a join to an open room naming a game.
func (c *rawClient) joinGame(t *testing.T, room, gameName string) {
	t.Helper()
	c.send(t, &pb.ClientFrame{Body: &pb.ClientFrame_Join{Join: &pb.Join{ProtocolVersion: 2, RoomId: room, Name: "t", Game: gameName}}})
}

// TestOpenRoomsNameTheirGame: a join to an open room may name the game
// (Join.game): the first join creates the room playing it, a later one
// naming another gets GAME_MISMATCH (close 4021) with the room's game named,
// one naming no game joins whatever the room plays, an unknown name gets
// UNKNOWN_GAME (4020) with the hosted games listed and creates no room, and
// a room created by a join naming none plays the server's open game.
func TestOpenRoomsNameTheirGame(t *testing.T) {
	srv, base := startServer(t, Config{
		OpenRooms: true, Rules: game.Rules{Mode: "arena", MaxPlayers: 2}, OpenGames: []string{"arena", "connect4"},
		NewGame: func(mode string) game.Game {
			if mode == "connect4" {
				return connect4.New()
			}
			return arena.New(arena.Config{})
		},
	})
	first := dial(t, base)
	first.joinGame(t, "c", "connect4")
	w := first.firstWelcome(t)
	if w.Match.GetMode() != "connect4" || !hasField(w.Schema.GetRoomFields(), "r0c0") {
		t.Fatalf("room created naming connect4: mode %q, room fields %v", w.Match.GetMode(), w.Schema.GetRoomFields())
	}

	other := dial(t, base)
	other.joinGame(t, "c", "arena")
	code, e := other.waitClose(t)
	if code != 4021 || e.GetCode() != pb.ErrorCode_ERROR_CODE_GAME_MISMATCH || !strings.Contains(e.GetMessage(), `"c" plays connect4, not arena`) {
		t.Fatalf("join naming arena to a connect4 room: close %d, error %v; want 4021 GAME_MISMATCH naming connect4", code, e)
	}

	unnamed := dial(t, base)
	unnamed.join(t, "c")
	if w := unnamed.firstWelcome(t); w.Match.GetMode() != "connect4" {
		t.Fatalf("join naming no game to a connect4 room: mode %q", w.Match.GetMode())
	}

	unknown := dial(t, base)
	unknown.joinGame(t, "x", "chess")
	code, e = unknown.waitClose(t)
	if code != 4020 || e.GetCode() != pb.ErrorCode_ERROR_CODE_UNKNOWN_GAME || !strings.Contains(e.GetMessage(), `no game "chess"`) || !strings.Contains(e.GetMessage(), "arena, connect4") {
		t.Fatalf("join naming chess: close %d, error %v; want 4020 UNKNOWN_GAME listing arena, connect4", code, e)
	}

	plain := dial(t, base)
	plain.join(t, "d")
	if w := plain.firstWelcome(t); w.Match.GetMode() != "arena" {
		t.Fatalf("room created naming no game: mode %q, want the open game arena", w.Match.GetMode())
	}
	modes := map[string]string{}
	for _, r := range srv.Rooms() {
		modes[r.ID] = r.Mode
	}
	if len(modes) != 2 || modes["c"] != "connect4" || modes["d"] != "arena" {
		t.Fatalf("rooms %v; want c playing connect4 and d arena, and no room x", modes)
	}
}

func hasField(fs []*pb.FieldSpec, name string) bool {
	for _, f := range fs {
		if f.GetName() == name {
			return true
		}
	}
	return false
}
