package bots

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// A lobby may close a kept-alive connection just as the next request goes out
// on it (its idle timeout, a restart). A seat request is safe to send again,
// since the lobby hands a player who asks twice the same seat, so JoinRoom
// still gets its seat; before, the run counted the join as failed with EOF.
func TestJoinRoomRetriesOnAClosedKeptAliveConnection(t *testing.T) {
	var mu sync.Mutex // guards served
	served := map[net.Conn]int{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn := r.Context().Value(connKey{}).(net.Conn)
		mu.Lock()
		served[conn]++
		n := served[conn]
		mu.Unlock()
		if n > 1 { // the second request on a connection: drop it unanswered
			hj, _, _ := w.(http.Hijacker).Hijack()
			_ = hj.Close()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"room_id": "r-1", "address": "ws://127.0.0.1:1", "join_ticket": "tw1.x.y"})
	}))
	srv.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) }
	srv.Start()
	defer srv.Close()

	l, err := NewLobby(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, player := range []string{"p-1", "p-2", "p-3"} {
		seat, err := l.JoinRoom(ctx, "r-1", player, "bot")
		if err != nil {
			t.Fatalf("seat %d: %v", i, err)
		}
		if seat.RoomID != "r-1" || seat.Ticket != "tw1.x.y" || seat.Player != player {
			t.Fatalf("seat %d: %+v", i, seat)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(served) < 2 {
		t.Fatalf("%d connections served; the test needs the kept-alive one reused", len(served))
	}
}

type connKey struct{}

// Seat requests of a ramp-up reuse their connections to the lobby: three
// bursts of 32 concurrent seats open about 32 connections, not one per seat
// beyond http.DefaultTransport's two idle ones (about 92).
func TestSeatsReuseLobbyConnections(t *testing.T) {
	var mu sync.Mutex // guards conns
	conns := 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"room_id": "r-1", "join_ticket": "tw1.x.y"})
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			conns++
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()
	l, err := NewLobby(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for round := range 3 {
		var wg sync.WaitGroup
		errs := make(chan error, 32)
		for i := range 32 {
			wg.Go(func() {
				if _, err := l.JoinRoom(ctx, "r-1", fmt.Sprintf("p-%d-%d", round, i), "bot"); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if conns >= 64 {
		t.Errorf("96 seats in bursts of 32 opened %d connections to the lobby, want about 32", conns)
	}
}
