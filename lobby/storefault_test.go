package lobby

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/tickwire/tickwire/lobby/directory"
	"github.com/tickwire/tickwire/lobby/leaderboard"
	"github.com/tickwire/tickwire/lobby/matchmaker"
)

// hungDirectory is a directory whose List and Nodes never answer: they
// return only when their context ends, as a call to a frozen Redis would.
type hungDirectory struct{ directory.Directory }

func (hungDirectory) List(ctx context.Context, _ directory.Filter, _ string, _ int) ([]directory.Room, string, error) {
	<-ctx.Done()
	return nil, "", ctx.Err()
}

func (hungDirectory) Nodes(ctx context.Context) ([]directory.Node, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// newFaultLobby is a lobby of mode "duo" on a bbolt board file and in-memory
// queue and directory, which edit may change before New; it is not Run.
func newFaultLobby(t *testing.T, edit func(*Config)) *Lobby {
	t.Helper()
	boards, err := leaderboard.OpenBolt(filepath.Join(t.TempDir(), "lb.db"), leaderboard.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = boards.Close() })
	modes, _ := ParseModes("duo:2:1m")
	c := Config{
		NodeID: "n1", Address: "ws://127.0.0.1:1", Secret: []byte("0123456789abcdef0123"),
		Modes: modes, Leaderboards: boards, Queue: matchmaker.NewMemory(),
		Directory: directory.NewMemory(time.Minute),
		Rooms:     func() []RoomReport { return nil },
	}
	edit(&c)
	l, err := New(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestHungStoreAnswers503 checks that a request whose store hangs is answered
// 503 store_unavailable with a Retry-After once StoreTimeout has passed,
// while a long-poll may wait past StoreTimeout.
func TestHungStoreAnswers503(t *testing.T) {
	l := newFaultLobby(t, func(c *Config) {
		c.Directory = hungDirectory{c.Directory}
		c.StoreTimeout = 100 * time.Millisecond
	})
	srv := httptest.NewServer(l.Handler()) // no Run: no matcher takes the ticket below
	defer srv.Close()
	client := &http.Client{Timeout: 10 * time.Second}

	for _, path := range []string{"/v1/rooms", "/v1/nodes"} {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatalf("GET %s with a hung store: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("GET %s with a hung store: %s, Retry-After %q; want 503 with Retry-After", path, resp.Status, resp.Header.Get("Retry-After"))
		}
		if r := call(t, "GET", srv.URL+path, ""); r.errCode() != "store_unavailable" {
			t.Fatalf("GET %s with a hung store: code %q, want store_unavailable", path, r.errCode())
		}
	}

	r := call(t, "POST", srv.URL+"/v1/matchmaking/tickets", `{"player_id":"p1","mode":"duo"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create ticket: %d %v", r.status, r.body)
	}
	id, _ := r.body["ticket_id"].(string)
	r = call(t, "GET", srv.URL+"/v1/matchmaking/tickets/"+id+"?wait=300ms", "")
	if r.status != http.StatusOK || r.body["status"] != "queued" {
		t.Fatalf("a 300ms long-poll with a 100ms store timeout: %d %v, want 200 queued", r.status, r.body)
	}
}

// TestSlowBodyIsCutOff sends a POST whose body never finishes arriving, over
// a real loopback socket, and checks that it is answered 408 body_timeout
// once BodyTimeout has passed instead of holding its handler.
func TestSlowBodyIsCutOff(t *testing.T) {
	l := newFaultLobby(t, func(c *Config) { c.BodyTimeout = 300 * time.Millisecond })
	srv := httptest.NewServer(l.Handler())
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"player_id":"p1","mode":"duo"}`
	if _, err := fmt.Fprintf(conn, "POST /v1/matchmaking/tickets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:5]); err != nil {
		t.Fatal(err)
	}
	// Dribble one more byte a second: far slower than the timeout, and the
	// test's own bound ends it if the server never answers.
	answered := make(chan *http.Response, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			close(answered)
			return
		}
		answered <- resp
	}()
	for i := 5; i < len(body); i++ {
		select {
		case resp, ok := <-answered:
			if !ok {
				t.Fatal("the connection closed without an answer")
			}
			defer resp.Body.Close()
			var e errorBody
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatalf("answer %s has no JSON error body: %v", resp.Status, err)
			}
			if resp.StatusCode != http.StatusRequestTimeout || e.Error.Code != "body_timeout" {
				t.Fatalf("a slow body got %s %q, want 408 body_timeout", resp.Status, e.Error.Code)
			}
			return
		case <-time.After(time.Second):
			_, _ = conn.Write([]byte{body[i]})
		}
	}
	t.Fatalf("the whole body was dribbled over %d s and no 408 came", len(body)-5)
}
