package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/netcode"
)

func dialBot(t *testing.T, cfg bots.Config) (*bots.Client, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	c, err := bots.Dial(ctx, cfg)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, err
}

// TestSpectateThroughTheLobby: POST /v1/rooms/{id}/spectate gives a ticket
// that watches the room without a seat, sees the player's very state, and
// cannot take a seat; a seat ticket cannot spectate.
func TestSpectateThroughTheLobby(t *testing.T) {
	tn := startNode(t, "duel:2:2s", netcode.Config{})
	lob, err := bots.NewLobby(tn.url)
	if err != nil {
		t.Fatal(err)
	}
	defer lob.CloseIdleConnections()
	room, err := lob.CreateRoom(t.Context(), "duel", false)
	if err != nil {
		t.Fatal(err)
	}
	seat, err := lob.JoinRoom(t.Context(), room.RoomID, "ann", "Ann")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dialBot(t, bots.Config{URL: seat.URL, RoomID: seat.RoomID, Name: "Ann", Ticket: seat.Ticket, Account: "ann", Spectate: true}); err == nil || !strings.Contains(err.Error(), "spectat") {
		t.Fatalf("a seat ticket used to spectate: %v, want a refusal that says so", err)
	}
	ann, err := dialBot(t, bots.Config{URL: seat.URL, RoomID: seat.RoomID, Name: "Ann", Ticket: seat.Ticket, Account: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	watch, err := lob.Spectate(t.Context(), room.RoomID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dialBot(t, bots.Config{URL: watch.URL, RoomID: watch.RoomID, Name: "x", Ticket: watch.Ticket}); err == nil || !strings.Contains(err.Error(), "spectat") {
		t.Fatalf("a spectator ticket used for a seat: %v, want a refusal that says so", err)
	}
	spec, err := dialBot(t, bots.Config{URL: watch.URL, RoomID: watch.RoomID, Name: "eve", Ticket: watch.Ticket, Spectate: true})
	if err != nil {
		t.Fatal(err)
	}
	if s := spec.Session(); !s.Spectator || s.PlayerID != 0 {
		t.Fatalf("spectator's session %+v: want a spectator with no seat", s)
	}
	for _, c := range []*bots.Client{ann, spec} {
		select {
		case <-c.Done():
		case <-time.After(20 * time.Second):
			t.Fatal("a 2 s match did not end within 20 s")
		}
	}
	a, s := ann.State(), spec.State()
	if ss := spec.Stats(); ss.Desyncs != 0 || ss.MatchEnd == nil || !ss.MatchEnd.Verified {
		t.Fatalf("spectator: %d desyncs, match end %+v: want 0 and a verified end", ss.Desyncs, ss.MatchEnd)
	}
	if a.Tick != s.Tick || a.Checksum != s.Checksum || len(s.Players) != 1 {
		t.Fatalf("spectator ended at tick %d checksum %08x with %d players; player at tick %d checksum %08x", s.Tick, s.Checksum, len(s.Players), a.Tick, a.Checksum)
	}
}

// TestSpectatePrivateRoomNeedsTheAPIKey: a private room's code is what lets
// players in, so only the operator (the API key) may watch it.
func TestSpectatePrivateRoomNeedsTheAPIKey(t *testing.T) {
	tn := startNode(t, "duel:2:2s", netcode.Config{})
	lob, err := bots.NewLobby(tn.url)
	if err != nil {
		t.Fatal(err)
	}
	defer lob.CloseIdleConnections()
	room, err := lob.CreateRoom(t.Context(), "duel", true)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lob.Spectate(t.Context(), room.RoomID)
	if err == nil || !strings.Contains(err.Error(), "private_room") {
		t.Fatalf("spectating a private room without the API key: %v, want private_room", err)
	}
	base := strings.Replace(tn.url, "ws://", "http://", 1)
	resp, err := http.Post(base+"/v1/rooms/nope/spectate", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("spectating a missing room: HTTP %d, want 404", resp.StatusCode)
	}
}
