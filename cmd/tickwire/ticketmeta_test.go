package main

import (
	"sync"
	"testing"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
	"github.com/tickwire/tickwire/netcode"
)

// joinLog is the arena that records what each join says of its player.
type joinLog struct {
	*arena.Arena
	mu   *sync.Mutex
	seen *[]game.JoinRequest
}

func (g joinLog) AdmitPlayer(w *game.World, j game.JoinRequest) *game.Refusal {
	g.mu.Lock()
	*g.seen = append(*g.seen, j)
	g.mu.Unlock()
	return nil
}

// A player matched by the lobby joins with its matchmaking ticket's id and
// rating, which the game reads in its JoinRequest.
func TestGameReadsTicketMetadata(t *testing.T) {
	var mu sync.Mutex
	var seen []game.JoinRequest
	tn := startNode(t, "solo:1:3s", netcode.Config{NewGame: func(string) game.Game {
		return joinLog{Arena: arena.New(arena.Config{}), mu: &mu, seen: &seen}
	}})
	lob, err := bots.NewLobby(tn.url)
	if err != nil {
		t.Fatal(err)
	}
	seat, err := lob.Queue(t.Context(), "solo", "zoe", "Zoe", 1234)
	if err != nil {
		t.Fatal(err)
	}
	c, err := bots.Dial(t.Context(), bots.Config{URL: seat.URL, RoomID: seat.RoomID, Name: "Zoe", Ticket: seat.Ticket, Account: "zoe"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0].Account != "zoe" || seen[0].Party == "" || seen[0].Rating != 1234 {
		t.Fatalf("the game saw %+v, want zoe's join with her ticket's party and rating 1234", seen)
	}
}
