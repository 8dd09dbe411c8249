package lobby

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tickwire/tickwire/lobby/directory"
	"github.com/tickwire/tickwire/lobby/leaderboard"
	"github.com/tickwire/tickwire/lobby/matchmaker"
)

// benchLobby is a lobby with embedded stores, not running (no matcher, no
// heartbeat): the benchmarks call its handler in process, so they measure
// the lobby's own work per request and not the loopback.
func benchLobby(b *testing.B) (*Lobby, http.Handler) {
	b.Helper()
	modes, _ := ParseModes("arena:16")
	boards, err := leaderboard.OpenBolt(filepath.Join(b.TempDir(), "lb.db"), leaderboard.BoltOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = boards.Close() })
	l, err := New(b.Context(), Config{
		NodeID: "n1", Address: "ws://127.0.0.1:1", Secret: []byte("0123456789abcdef0123"),
		Modes: modes, Leaderboards: boards, Queue: matchmaker.NewMemory(),
		Directory: directory.NewMemory(time.Minute), Rooms: func() []RoomReport { return nil },
	})
	if err != nil {
		b.Fatal(err)
	}
	return l, l.Handler()
}

// serveBench runs one request through h from a loopback address, as the
// bots' requests arrive, and fails b unless it answers want.
func serveBench(b *testing.B, h http.Handler, method, path, body string, want int) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = "127.0.0.1:40000"
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != want {
		b.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
	}
	return w
}

// BenchmarkJoinRoom is the lobby's share of one bot joining through the room
// API, as `tickwire bots` does: a seat in a public room, with one room
// created per 16 seats.
func BenchmarkJoinRoom(b *testing.B) {
	l, h := benchLobby(b)
	b.ReportAllocs()
	var room string
	for i := 0; b.Loop(); i++ {
		if i%16 == 0 {
			r, err := l.createRoom(context.Background(), l.modes["arena"], false, false, 0, 0)
			if err != nil {
				b.Fatal(err)
			}
			room = r.ID
		}
		serveBench(b, h, http.MethodPost, "/v1/rooms/"+room+"/join",
			fmt.Sprintf(`{"player_id":"p-%d","name":"bot %d"}`, i, i), http.StatusOK)
	}
}

// BenchmarkCreateRoom is POST /v1/rooms.
func BenchmarkCreateRoom(b *testing.B) {
	_, h := benchLobby(b)
	b.ReportAllocs()
	for b.Loop() {
		serveBench(b, h, http.MethodPost, "/v1/rooms", `{"mode":"arena"}`, http.StatusCreated)
	}
}

// BenchmarkCreateTicket is POST /v1/matchmaking/tickets for one player.
func BenchmarkCreateTicket(b *testing.B) {
	_, h := benchLobby(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		serveBench(b, h, http.MethodPost, "/v1/matchmaking/tickets",
			fmt.Sprintf(`{"player_id":"p-%d","name":"bot %d","mode":"arena","rating":1500}`, i, i), http.StatusCreated)
	}
}

// BenchmarkSignTicket and BenchmarkAdmit are the two ends of a join ticket:
// the lobby signs one per seat, and the node checks it on the WebSocket join.
func BenchmarkSignTicket(b *testing.B) {
	s, _ := NewSigner([]byte("0123456789abcdef0123"))
	c := Claims{ID: "4f0c5a3e-2b7d-4c1e-9a8f-0d6b3e2a1c90", Player: "bots-1-12-3", Name: "bot-12-3",
		Room: "r-7d1e0c2a-5b4f-4e3d-8c9a-1f2e3d4c5b6a", Mode: "arena", Node: "node-1a2b3c4d", Expires: time.Now().Unix() + 60}
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Sign(c)
	}
}

func BenchmarkAdmit(b *testing.B) {
	l, _ := benchLobby(b)
	c := Claims{ID: "4f0c5a3e-2b7d-4c1e-9a8f-0d6b3e2a1c90", Player: "bots-1-12-3", Name: "bot-12-3",
		Room: "r-7d1e0c2a-5b4f-4e3d-8c9a-1f2e3d4c5b6a", Mode: "arena", Node: "n1", Expires: time.Now().Unix() + 60}
	tok := l.signer.Sign(c)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := l.Admit(tok, c.Room); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDirectoryAssign is the embedded directory's seat reservation, the
// store call of every room join, in rooms of 16.
func BenchmarkDirectoryAssign(b *testing.B) {
	d := directory.NewMemory(time.Minute)
	ctx := context.Background()
	var room string
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%16 == 0 {
			room = fmt.Sprintf("r-%d", i)
			if err := d.Create(ctx, directory.Room{ID: room, Mode: "arena", Node: "n1", Address: "ws://127.0.0.1:1",
				Capacity: 16, State: "open", CreatedAt: time.Now()}, time.Minute); err != nil {
				b.Fatal(err)
			}
		}
		if err := d.Assign(ctx, room, []string{fmt.Sprintf("p-%d", i)}, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDirectoryReportRooms is one heartbeat's room reports from a node
// running 313 rooms of 16 (5,008 players), into the embedded directory.
func BenchmarkDirectoryReportRooms(b *testing.B) {
	d := directory.NewMemory(time.Minute)
	ctx := context.Background()
	reports := make([]directory.RoomReport, 313)
	for i := range reports {
		id := fmt.Sprintf("r-%d", i)
		if err := d.Create(ctx, directory.Room{ID: id, Mode: "arena", Node: "n1", Address: "ws://127.0.0.1:1",
			Capacity: 16, State: "open", CreatedAt: time.Now()}, time.Minute); err != nil {
			b.Fatal(err)
		}
		reports[i] = directory.RoomReport{ID: id, Players: 16, Joined: 16, State: "running"}
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := d.ReportRooms(ctx, "n1", reports, time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}
