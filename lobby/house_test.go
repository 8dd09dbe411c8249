package lobby

import (
	"errors"
	"net/http"
	"testing"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/lobby/directory"
)

// TestHouseRoom: a house room is listed and joined through the API like any
// room, its tickets (the node's own and a person's) are admitted with its
// rules, and its mode can be neither queued for nor credited.
func TestHouseRoom(t *testing.T) {
	l, url := newTestLobby(t)
	rules := game.Rules{Mode: "demo", MaxPlayers: 3, MinPlayers: 2}
	if _, err := l.OpenHouseRoom(t.Context(), "demo-1", game.Rules{Mode: "arena", MaxPlayers: 3}); err == nil {
		t.Fatal("a house room of a lobby mode was opened")
	}
	room, err := l.OpenHouseRoom(t.Context(), "demo-1", rules)
	if err != nil {
		t.Fatal(err)
	}
	if room.Node != "n1" || room.Capacity != 3 || room.Matchmade || room.Private {
		t.Fatalf("house room %+v: want a public, not matchmade room of 3 seats on n1", room)
	}
	if _, err := l.OpenHouseRoom(t.Context(), "demo-1", rules); !errors.Is(err, directory.ErrExists) {
		t.Fatalf("a second house room demo-1: %v, want ErrExists", err)
	}

	seat, err := l.HouseSeat(t.Context(), "demo-1", "demo-bot-1", "demo bot 1")
	if err != nil {
		t.Fatal(err)
	}
	c, got, err := l.Admit(seat.Ticket, "demo-1")
	if err != nil || c.Player != "demo-bot-1" || got != rules {
		t.Fatalf("Admit(bot's ticket) = %+v, %+v, %v; want the bot with the house rules", c, got, err)
	}

	list := call(t, "GET", url+"/v1/rooms", "")
	if rooms, _ := list.body["rooms"].([]any); len(rooms) != 1 {
		t.Fatalf("GET /v1/rooms: %v; want the house room", list.body)
	}
	join := call(t, "POST", url+"/v1/rooms/demo-1/join", `{"player_id":"ann","name":"Ann"}`)
	if join.status != http.StatusOK {
		t.Fatalf("a person's join: %d %v", join.status, join.body)
	}
	tok, _ := join.body["join_ticket"].(string)
	if _, got, err := l.Admit(tok, "demo-1"); err != nil || got != rules {
		t.Fatalf("Admit(person's ticket) = %+v, %v; want the house rules", got, err)
	}
	if r := call(t, "POST", url+"/v1/matchmaking/tickets", `{"player_id":"bob","mode":"demo"}`); r.status != http.StatusNotFound {
		t.Fatalf("queueing for the house mode: %d %v; want 404 unknown_mode", r.status, r.body)
	}
	if err := l.submit(t.Context(), &result{mode: "demo", standings: []game.Standing{{Account: "ann", Name: "Ann", Score: 9}}}); err != nil {
		t.Fatal(err)
	}
	if r := call(t, "GET", url+"/v1/leaderboards/demo/entries", ""); r.status != http.StatusNotFound {
		t.Fatalf("a demo board: %d %v; want none", r.status, r.body)
	}

	if _, err := l.HouseSeat(t.Context(), "demo-1", "bad id!", ""); err == nil {
		t.Fatal("a house seat for a malformed player id")
	}
	if err := l.CloseHouseRoom(t.Context(), "demo-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.HouseSeat(t.Context(), "demo-1", "demo-bot-1", "demo bot 1"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("a seat in a closed house room: %v; want ErrNotFound", err)
	}
	if err := l.CloseHouseRoom(t.Context(), "demo-1"); err != nil {
		t.Fatalf("closing it again: %v", err)
	}
	l.SetDraining(true)
	if _, err := l.OpenHouseRoom(t.Context(), "demo-2", rules); !errors.Is(err, ErrNodeDraining) {
		t.Fatalf("a house room on a draining node: %v; want ErrNodeDraining", err)
	}
}
