package lobby

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tickwire/tickwire/internal/redistest"
	"github.com/tickwire/tickwire/lobby/directory"
)

// directories are the two directory stores a test runs on.
func directories(t *testing.T) map[string]func(t *testing.T) directory.Directory {
	return map[string]func(t *testing.T) directory.Directory{
		"memory": func(t *testing.T) directory.Directory { return directory.NewMemory(time.Minute) },
		"redis": func(t *testing.T) directory.Directory {
			rs := redistest.Start(t)
			rc := redis.NewClient(&redis.Options{Addr: rs.Addr})
			t.Cleanup(func() { _ = rc.Close() })
			return directory.NewRedis(rc, "tw-test:", time.Minute)
		},
	}
}

// TestFullNodesGetNoRooms: heartbeats carry each node's room limit, and the
// lobby places a new room only on a node below it; with every node full it
// answers 503 no_capacity, and the directory shows why.
func TestFullNodesGetNoRooms(t *testing.T) {
	for name, newDir := range directories(t) {
		t.Run(name, func(t *testing.T) {
			dir := newDir(t)
			l := newFaultLobby(t, func(c *Config) {
				c.Directory = dir
				c.MaxRooms = 2
				c.Rooms = func() []RoomReport { return []RoomReport{{ID: "a"}, {ID: "b"}} }
			})
			l.report(t.Context()) // this node: 2 of 2 rooms
			if err := dir.Heartbeat(t.Context(), directory.Node{ID: "n2", Address: "ws://127.0.0.1:2", MaxRooms: 1}, time.Minute); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(l.Handler())
			t.Cleanup(srv.Close)
			r := call(t, "GET", srv.URL+"/v1/nodes", "")
			nodes, _ := r.body["nodes"].([]any)
			if len(nodes) != 2 {
				t.Fatalf("nodes %v", r.body)
			}
			if n1, _ := nodes[0].(map[string]any); n1["max_rooms"] != 2.0 || n1["rooms"] != 2.0 {
				t.Fatalf("node n1 as listed: %v; want rooms 2 and max_rooms 2", n1)
			}
			r = call(t, "POST", srv.URL+"/v1/rooms", `{"mode":"duo"}`)
			if r.status != 201 || r.body["node"] != "n2" {
				t.Fatalf("first room: %d %v; want 201 on n2, the node with room to spare", r.status, r.body)
			}
			// n2 has its one room now, counted before its next heartbeat.
			r = call(t, "POST", srv.URL+"/v1/rooms", `{"mode":"duo"}`)
			if r.status != 503 || r.errCode() != "no_capacity" {
				t.Fatalf("room with every node full: %d %v; want 503 no_capacity", r.status, r.body)
			}
			// Matchmaking places nothing on full nodes either.
			if _, err := l.createRoom(context.Background(), l.modes["duo"], false, true, 0, 2); err == nil {
				t.Fatal("matchmade room placed on a full node")
			}
		})
	}
}

// TestHostileNamesRefused: every way a display name enters the lobby
// (matchmaking ticket and its party, room seat, seat by code, score
// submission) refuses a hostile name with 400 bad_name and stores nothing;
// a 32-character name of 3-byte characters is taken.
func TestHostileNamesRefused(t *testing.T) {
	l, base := newTestLobby(t)
	priv, err := l.createRoom(t.Context(), l.modes["arena"], true, false, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := l.createRoom(t.Context(), l.modes["arena"], false, false, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	auth := []string{"Authorization", "Bearer " + testKey}
	r := call(t, "POST", base+"/v1/matchmaking/consents", `{"player_id":"c","leader":"b"}`)
	consent, _ := r.body["consent"].(string)
	if r.status != 201 || consent == "" {
		t.Fatalf("consent: %d %v", r.status, r.body)
	}
	entries := []struct {
		what, path string
		body       func(name string) string
		header     []string
	}{
		{"ticket", "/v1/matchmaking/tickets", func(n string) string { return mustJSON(map[string]any{"player_id": "a", "name": n, "mode": "arena"}) }, nil},
		{"party member", "/v1/matchmaking/tickets", func(n string) string {
			return mustJSON(map[string]any{"player_id": "b", "mode": "arena", "party": []any{map[string]any{"player_id": "c", "name": n, "consent": consent}}})
		}, nil},
		{"room seat", "/v1/rooms/" + pub.ID + "/join", func(n string) string { return mustJSON(map[string]any{"player_id": "d", "name": n}) }, nil},
		{"seat by code", "/v1/rooms/join-by-code", func(n string) string { return mustJSON(map[string]any{"player_id": "e", "name": n, "code": priv.Code}) }, nil},
		{"score", "/v1/leaderboards/arena/scores", func(n string) string { return mustJSON(map[string]any{"player_id": "f", "name": n, "score": 5}) }, auth},
	}
	hostile := []string{"\x1b[2J\x1b[31mred", "nul\x00", "two\nlines", "evil\u202Etxt.exe", "ad\u200Bmin", "\u2066iso", strings.Repeat("x", 33)}
	for _, e := range entries {
		for _, name := range hostile {
			r := call(t, "POST", base+e.path, e.body(name), e.header...)
			if r.status != 400 || r.errCode() != "bad_name" {
				t.Errorf("%s named %q: %d %v; want 400 bad_name", e.what, name, r.status, r.body)
			}
		}
	}
	r = call(t, "GET", base+"/v1/leaderboards/arena/entries", "")
	if es, _ := r.body["entries"].([]any); len(es) != 0 {
		t.Fatalf("board after refused names: %v", r.body)
	}
	long := strings.Repeat("猫", 32)
	for _, e := range entries {
		if r := call(t, "POST", base+e.path, e.body(" "+long+" "), e.header...); r.status >= 300 {
			t.Errorf("%s named with 32 three-byte characters: %d %v; want it taken", e.what, r.status, r.body)
		}
	}
	r = call(t, "GET", base+"/v1/leaderboards/arena/players/f", "")
	if r.body["name"] != long {
		t.Fatalf("stored name %v; want %q, trimmed", r.body["name"], long)
	}
}
