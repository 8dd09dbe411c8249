package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tickwire/tickwire/bots"
	"github.com/tickwire/tickwire/lobby"
	"github.com/tickwire/tickwire/netcode"
)

// readyz answers /readyz of the node at ws base URL u.
func readyz(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get("http" + strings.TrimPrefix(u, "ws") + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestFullNodeSaysSo: a node running --max-rooms rooms answers /readyz with
// 503 full, and its lobby, once the heartbeat carries the count, places no
// new room on it (503 no_capacity, as it is the only node).
func TestFullNodeSaysSo(t *testing.T) {
	tn := startNode(t, "duel:2:1m", netcode.Config{MaxRooms: 1})
	if code, body := readyz(t, tn.url); code != http.StatusOK {
		t.Fatalf("/readyz with no rooms: %d %q", code, body)
	}
	lob, err := bots.NewLobby(tn.url)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	room, err := lob.CreateRoom(ctx, "duel", false)
	if err != nil {
		t.Fatal(err)
	}
	seat, err := lob.JoinRoom(ctx, room.RoomID, "ann", "Ann")
	if err != nil {
		t.Fatal(err)
	}
	c, err := bots.Dial(ctx, bots.Config{URL: seat.URL, RoomID: seat.RoomID, Ticket: seat.Ticket, Name: "Ann"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if code, body := readyz(t, tn.url); code != http.StatusServiceUnavailable || !strings.Contains(body, "full: 1 of 1 rooms") {
		t.Fatalf("/readyz with 1 of 1 rooms: %d %q; want 503 full", code, body)
	}
	var last error
	waitFor(t, 10*time.Second, "the lobby refuses rooms", func() bool {
		_, last = lob.CreateRoom(ctx, "duel", false)
		return last != nil && strings.Contains(last.Error(), "no_capacity")
	})
	resp, err := http.Get("http" + strings.TrimPrefix(tn.url, "ws") + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, series := range []string{"tickwire_max_rooms 1", "tickwire_rooms 1", "tickwire_api_rate_limited_total 0",
		"tickwire_join_code_rate_limited_total 0", "tickwire_room_create_rate_limited_total 0", "tickwire_rate_limit_keys 0"} {
		if !strings.Contains(string(b), "\n"+series+"\n") {
			t.Errorf("/metrics has no %q", series)
		}
	}
}

// TestLobbyLimitFlags: the room, rate-limit and identity flags (and their
// environment twins) reach the configs the node is built from.
func TestLobbyLimitFlags(t *testing.T) {
	def, _ := parseServe(t)
	want := lobby.DefaultRateLimits()
	want.MaxKeys = 0 // not a flag: the lobby's default
	if d := def.lobby.rateLimits; d != want {
		t.Fatalf("default rate limits %+v; want lobby.DefaultRateLimits()", d)
	}
	t.Setenv("TICKWIRE_JOIN_CODE_RATE", "0.25")
	t.Setenv("TICKWIRE_AUTH_HS256_SECRET", "an-hs256-secret-of-32-bytes-long!")
	c, err := parseServe(t, "--max-rooms", "40", "--empty-room-timeout", "3s", "--api-rate", "7", "--api-burst", "9",
		"--room-create-burst", "2", "--api-limit-loopback", "--auth-audience", "game", "--auth-name-claim", "nick")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	rl, id := c.lobby.rateLimits, c.lobby.lobbyIdentity()
	switch {
	case c.net.MaxRooms != 40 || c.net.EmptyRoomTimeout != 3*time.Second || c.net.UnjoinedRoomTimeout != 10*time.Second:
		t.Fatalf("rooms: max %d, empty %v, unjoined %v", c.net.MaxRooms, c.net.EmptyRoomTimeout, c.net.UnjoinedRoomTimeout)
	case rl.API != (lobby.Limit{Rate: 7, Burst: 9}) || rl.JoinCode.Rate != 0.25 || rl.CreateRoom.Burst != 2 || !rl.LimitLoopback:
		t.Fatalf("rate limits %+v", rl)
	case string(id.HS256Secret) != "an-hs256-secret-of-32-bytes-long!" || id.Audience != "game" || id.NameClaim != "nick" || id.JWKSURL != "":
		t.Fatalf("identity %+v", id)
	}
}
