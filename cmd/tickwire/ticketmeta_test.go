package main

import (
	"maps"
	"sync"
	"testing"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
	"github.com/tickwire/tickwire/internal/redistest"
	"github.com/tickwire/tickwire/netcode"
)

// joinLog is the arena that records what each join says of its player.
type joinLog struct {
	*arena.Arena
	mu     *sync.Mutex
	seen   *[]game.JoinRequest
	seated *[]game.Player
}

func (g joinLog) AddPlayer(w *game.World, p *game.Player) game.EntityID {
	g.mu.Lock()
	if g.seated != nil {
		*g.seated = append(*g.seated, *p)
	}
	g.mu.Unlock()
	return g.Arena.AddPlayer(w, p)
}

func (g joinLog) AdmitPlayer(w *game.World, j game.JoinRequest) *game.Refusal {
	g.mu.Lock()
	*g.seen = append(*g.seen, j)
	g.mu.Unlock()
	return nil
}

// A player matched by the lobby joins with its matchmaking ticket's id and
// rating, and the team and attributes its request gave, which the game
// reads in its JoinRequest (and on the seated Player), whichever store the
// queue lives in: the embedded one, or a real redis-server.
func TestGameReadsTicketMetadata(t *testing.T) {
	for _, store := range []string{"embedded", "redis"} {
		t.Run(store, func(t *testing.T) {
			var edit func(*lobbyConfig)
			if store == "redis" {
				rs := redistest.Start(t)
				edit = func(lc *lobbyConfig) {
					lc.store, lc.redisURL, lc.secret = "redis", "redis://"+rs.Addr, "ticket-secret-for-tests"
				}
			}
			var mu sync.Mutex
			var seen []game.JoinRequest
			var seated []game.Player
			tn := startNodeWith(t, "solo:1:3s", netcode.Config{NewGame: func(string) game.Game {
				return joinLog{Arena: arena.New(arena.Config{}), mu: &mu, seen: &seen, seated: &seated}
			}}, edit)
			lob, err := bots.NewLobby(tn.url)
			if err != nil {
				t.Fatal(err)
			}
			attrs := map[string]string{"class": "medic", "skin": "Zoë's <gold>"}
			seat, err := lob.QueueWith(t.Context(), bots.QueueRequest{Mode: "solo", Player: "zoe", Name: "Zoe", Rating: 1234, Team: "red", Attributes: attrs})
			if err != nil {
				t.Fatal(err)
			}
			c, err := bots.Dial(t.Context(), bots.Config{URL: seat.URL, RoomID: seat.RoomID, Name: "Zoe", Ticket: seat.Ticket, Account: "zoe"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			plain, err := lob.Queue(t.Context(), "solo", "ann", "Ann", 1000)
			if err != nil {
				t.Fatal(err)
			}
			c2, err := bots.Dial(t.Context(), bots.Config{URL: plain.URL, RoomID: plain.RoomID, Name: "Ann", Ticket: plain.Ticket, Account: "ann"})
			if err != nil {
				t.Fatal(err)
			}
			defer c2.Close()
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 2 {
				t.Fatalf("the game saw %d joins, want 2: %+v", len(seen), seen)
			}
			z, a := seen[0], seen[1]
			if z.Account != "zoe" || z.Party == "" || z.Rating != 1234 || z.Team != "red" || !maps.Equal(z.Attributes, attrs) {
				t.Fatalf("the game saw %+v, want zoe's join with her ticket's party, rating 1234, team red and attributes %v", z, attrs)
			}
			if a.Account != "ann" || a.Team != "" || a.Attributes != nil || a.Rating != 1000 {
				t.Fatalf("the game saw %+v for ann, who queued with no team or attributes", a)
			}
			if len(seated) != 2 || seated[0].Team != "red" || !maps.Equal(seated[0].Attributes, attrs) {
				t.Fatalf("seated players %+v; want zoe's Player to keep her team and attributes", seated)
			}
		})
	}
}
