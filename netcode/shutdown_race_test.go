package netcode

import (
	"context"
	"testing"
	"time"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/game"
)

// TestShutdownWaitsForAMatchThatJustEnded: a match that ends by itself as
// the server shuts down still tells its players the final scores before
// the server closes their sockets. The match's end is held inside
// OnMatchEnd (after the room left the room list, before its players are
// told) until Shutdown has begun.
func TestShutdownWaitsForAMatchThatJustEnded(t *testing.T) {
	ending := make(chan struct{})
	release := make(chan struct{})
	srv, base := startServer(t, Config{OpenRooms: true, Rules: game.Rules{MaxPlayers: 2, MinPlayers: 1, DurationTicks: 10},
		OnMatchEnd: func(MatchResult) { close(ending); <-release }})
	c, err := bots.Dial(t.Context(), bots.Config{URL: base, RoomID: "ends", Name: "ann"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-ending
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Shutdown(context.Background()) }()
	for !srv.Draining() {
		time.Sleep(time.Millisecond)
	}
	// A server that does not wait closes ann's socket now, before the end.
	select {
	case <-c.Done():
	case <-time.After(time.Second):
	}
	close(release)
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the client was not closed after the shutdown")
	}
	if err := <-stopped; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if st := c.Stats(); st.MatchEnd == nil {
		t.Fatalf("the client was closed (%v) without the match's end", st.CloseCode)
	}
}
