package lobby

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
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

const testKey = "test-api-key"

// newTestLobby runs a lobby with embedded stores behind a real HTTP server on
// loopback.
func newTestLobby(t *testing.T) (*Lobby, string) {
	t.Helper()
	return startLobby(t, func(*Config) {})
}

// startLobby is newTestLobby with the config changed by edit before New.
func startLobby(t *testing.T, edit func(*Config)) (*Lobby, string) {
	t.Helper()
	boards, err := leaderboard.OpenBolt(filepath.Join(t.TempDir(), "lb.db"), leaderboard.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = boards.Close() })
	modes, _ := ParseModes("duo:2:1m,arena:4")
	c := Config{
		NodeID: "n1", Address: "ws://127.0.0.1:1", Secret: []byte("0123456789abcdef0123"),
		Modes: modes, Leaderboards: boards, Queue: matchmaker.NewMemory(), Directory: directory.NewMemory(time.Minute),
		Rooms: func() []RoomReport { return nil }, APIKey: testKey, MatchInterval: 50 * time.Millisecond,
	}
	edit(&c)
	l, err := New(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.Run(ctx)
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(func() {
		srv.Close()
		cancel()
		_ = l.Close(context.Background())
	})
	return l, srv.URL
}

type response struct {
	status int
	body   map[string]any
}

func call(t *testing.T, method, url, body string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r.body); err != nil {
			t.Fatalf("%s %s answered non-JSON %q", method, url, b)
		}
	}
	return r
}

func (r response) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func TestAPIBadInput(t *testing.T) {
	l, base := newTestLobby(t)
	expired := l.signer.Sign(Claims{Player: "p", Room: "r", Expires: time.Now().Add(-time.Second).Unix()})
	forged := l.signer.Sign(Claims{Player: "p", Room: "r", Expires: time.Now().Add(time.Hour).Unix()})
	forged = forged[:len(forged)-2] + "AA"
	auth := []string{"Authorization", "Bearer " + testKey}
	tests := []struct {
		name, method, path, body string
		header                   []string
		status                   int
		code                     string
	}{
		{"malformed json", "POST", "/v1/matchmaking/tickets", `{"player_id": `, nil, 400, "bad_json"},
		{"empty body", "POST", "/v1/matchmaking/tickets", ``, nil, 400, "bad_json"},
		{"unknown field", "POST", "/v1/matchmaking/tickets", `{"player_id":"a","mode":"duo","colour":"red"}`, nil, 400, "bad_json"},
		{"trailing data", "POST", "/v1/matchmaking/tickets", `{"player_id":"a","mode":"duo"} {}`, nil, 400, "bad_json"},
		{"oversized body", "POST", "/v1/matchmaking/tickets", `{"player_id":"` + strings.Repeat("a", 70000) + `"}`, nil, 413, "body_too_large"},
		{"unknown mode", "POST", "/v1/matchmaking/tickets", `{"player_id":"a","mode":"chess"}`, nil, 404, "unknown_mode"},
		{"bad player id", "POST", "/v1/matchmaking/tickets", `{"player_id":"a b","mode":"duo"}`, nil, 400, "bad_request"},
		{"dot player id", "POST", "/v1/leaderboards/duo/scores", `{"player_id":"..","score":1}`, auth, 400, "bad_request"},
		{"dot board id", "POST", "/v1/leaderboards", `{"id":"."}`, auth, 400, "bad_request"},
		{"party too large", "POST", "/v1/matchmaking/tickets", `{"player_id":"a","mode":"duo","party":[{"player_id":"b"},{"player_id":"c"}]}`, nil, 400, "party_too_large"},
		{"unknown ticket", "GET", "/v1/matchmaking/tickets/t-nope", ``, nil, 404, "not_found"},
		{"bad wait", "GET", "/v1/matchmaking/tickets/t-nope?wait=forever", ``, nil, 400, "bad_request"},
		{"unknown board", "GET", "/v1/leaderboards/nope/entries", ``, nil, 404, "unknown_board"},
		{"bad cursor", "GET", "/v1/leaderboards/duo/entries?cursor=%25%25garbage", ``, nil, 400, "bad_cursor"},
		{"bad limit", "GET", "/v1/leaderboards/duo/entries?limit=0", ``, nil, 400, "bad_request"},
		{"submit without key", "POST", "/v1/leaderboards/duo/scores", `{"player_id":"a","score":1}`, nil, 401, "unauthorized"},
		{"submit wrong key", "POST", "/v1/leaderboards/duo/scores", `{"player_id":"a","score":1}`, []string{"Authorization", "Bearer nope"}, 401, "unauthorized"},
		{"submit unknown board", "POST", "/v1/leaderboards/nope/scores", `{"player_id":"a","score":1}`, auth, 404, "unknown_board"},
		{"expired ticket", "POST", "/v1/tickets/verify", `{"join_ticket":"` + expired + `"}`, nil, 401, "ticket_expired"},
		{"forged ticket", "POST", "/v1/tickets/verify", `{"join_ticket":"` + forged + `"}`, nil, 401, "ticket_forged"},
		{"garbage ticket", "POST", "/v1/tickets/verify", `{"join_ticket":"hello"}`, nil, 400, "ticket_malformed"},
		{"unknown room", "POST", "/v1/rooms/r-nope/join", `{"player_id":"a"}`, nil, 404, "not_found"},
		{"unknown code", "POST", "/v1/rooms/join-by-code", `{"player_id":"a","code":"ZZZZZZ"}`, nil, 404, "unknown_code"},
		{"bad state filter", "GET", "/v1/rooms?state=dancing", ``, nil, 400, "bad_request"},
		{"unknown endpoint", "GET", "/v1/nothing", ``, nil, 404, "not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, tc.method, base+tc.path, tc.body, tc.header...)
			if r.status != tc.status || r.errCode() != tc.code {
				t.Fatalf("%s %s = %d %q (%v), want %d %q", tc.method, tc.path, r.status, r.errCode(), r.body, tc.status, tc.code)
			}
			e, _ := r.body["error"].(map[string]any)
			if msg, _ := e["message"].(string); msg == "" {
				t.Fatal("error without a message")
			}
		})
	}
	// Nothing a bad request sent reached the board.
	r := call(t, "GET", base+"/v1/leaderboards/duo/entries", "")
	if entries, _ := r.body["entries"].([]any); r.status != 200 || len(entries) != 0 {
		t.Fatalf("board after bad requests: %d %v, want 200 and no entries", r.status, r.body)
	}
}

func TestAPIScoresAndRanks(t *testing.T) {
	_, base := newTestLobby(t)
	auth := []string{"Authorization", "Bearer " + testKey}
	for i, s := range []int{30, 10, 50, 20} {
		body := `{"player_id":"p` + string(rune('a'+i)) + `","score":` + jsonInt(s) + `}`
		if r := call(t, "POST", base+"/v1/leaderboards/duo/scores", body, auth...); r.status != 200 {
			t.Fatalf("submit: %d %v", r.status, r.body)
		}
	}
	r := call(t, "GET", base+"/v1/leaderboards/duo/entries?limit=2", "")
	entries, _ := r.body["entries"].([]any)
	next, _ := r.body["next_cursor"].(string)
	if len(entries) != 2 || next == "" {
		t.Fatalf("top 2: %v", r.body)
	}
	if first := entries[0].(map[string]any); first["player_id"] != "pc" || first["score"] != float64(50) {
		t.Fatalf("first entry %v, want pc with 50", first)
	}
	r = call(t, "GET", base+"/v1/leaderboards/duo/entries?limit=2&cursor="+next, "")
	if entries, _ := r.body["entries"].([]any); len(entries) != 2 || r.body["next_cursor"] != "" {
		t.Fatalf("page 2: %v", r.body)
	}
	r = call(t, "GET", base+"/v1/leaderboards/duo/players/pd", "")
	if r.status != 200 || r.body["rank"] != float64(3) {
		t.Fatalf("rank of pd (20): %v, want 3", r.body)
	}
	r = call(t, "GET", base+"/v1/leaderboards/duo/players/pd/around?n=1", "")
	if entries, _ := r.body["entries"].([]any); len(entries) != 3 {
		t.Fatalf("around pd: %v, want 3 entries", r.body)
	}
}

func jsonInt(v int) string { b, _ := json.Marshal(v); return string(b) }

func TestAPIPrivateRoomsAndCodes(t *testing.T) {
	l, base := newTestLobby(t)
	r := call(t, "POST", base+"/v1/rooms", `{"mode":"duo","private":true}`)
	code, _ := r.body["code"].(string)
	id, _ := r.body["room_id"].(string)
	if r.status != 201 || code == "" || id == "" {
		t.Fatalf("create private room: %d %v", r.status, r.body)
	}
	if r := call(t, "GET", base+"/v1/rooms", ""); strings.Contains(mustJSON(r.body), id) {
		t.Fatal("a private room is listed")
	}
	if r := call(t, "POST", base+"/v1/rooms/"+id+"/join", `{"player_id":"a"}`); r.status != 403 || r.errCode() != "private_room" {
		t.Fatalf("join private room by id: %d %v", r.status, r.body)
	}
	r = call(t, "POST", base+"/v1/rooms/join-by-code", `{"player_id":"a","name":"Ann","code":"`+strings.ToLower(code)+`"}`)
	tok, _ := r.body["join_ticket"].(string)
	if r.status != 200 || r.body["room_id"] != id || tok == "" {
		t.Fatalf("join by code: %d %v", r.status, r.body)
	}
	c, rules, err := l.Admit(tok, id)
	if err != nil || c.Player != "a" || c.Name != "Ann" || rules.MaxPlayers != 2 {
		t.Fatalf("the seat's ticket: %+v %+v %v", c, rules, err)
	}
	if _, _, err := l.Admit(tok, "another-room"); err == nil {
		t.Fatal("a ticket was admitted to another room")
	}
	// Two seats in a two-seat room; a third is refused.
	call(t, "POST", base+"/v1/rooms/join-by-code", `{"player_id":"b","code":"`+code+`"}`)
	if r := call(t, "POST", base+"/v1/rooms/join-by-code", `{"player_id":"c","code":"`+code+`"}`); r.status != 409 || r.errCode() != "room_full" {
		t.Fatalf("third seat in a 2-seat room: %d %v", r.status, r.body)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func TestAPIMatchmaking(t *testing.T) {
	_, base := newTestLobby(t)
	ids := make([]string, 2)
	for i, p := range []string{"x", "y"} {
		r := call(t, "POST", base+"/v1/matchmaking/tickets", `{"player_id":"`+p+`","mode":"duo","rating":1500}`)
		if r.status != 201 || r.body["status"] != "queued" {
			t.Fatalf("queue %s: %d %v", p, r.status, r.body)
		}
		ids[i], _ = r.body["ticket_id"].(string)
	}
	if r := call(t, "POST", base+"/v1/matchmaking/tickets", `{"player_id":"x","mode":"duo"}`); r.status != 409 {
		t.Fatalf("queueing a queued player again: %d %v", r.status, r.body)
	}
	var rooms []string
	for _, id := range ids {
		r := call(t, "GET", base+"/v1/matchmaking/tickets/"+id+"?wait=10s", "")
		a, _ := r.body["assignment"].(map[string]any)
		if r.body["status"] != "matched" || a == nil {
			t.Fatalf("ticket %s after waiting: %v", id, r.body)
		}
		rooms = append(rooms, a["room_id"].(string))
	}
	if rooms[0] != rooms[1] {
		t.Fatalf("the two duo players were put in different rooms: %v", rooms)
	}
	if r := call(t, "DELETE", base+"/v1/matchmaking/tickets/"+ids[0], ""); r.status != 409 || r.errCode() != "not_queued" {
		t.Fatalf("cancel a matched ticket: %d %v", r.status, r.body)
	}
	// Events stream: a queued then cancelled ticket.
	r := call(t, "POST", base+"/v1/matchmaking/tickets", `{"player_id":"z","mode":"arena"}`)
	id, _ := r.body["ticket_id"].(string)
	resp, err := http.Get(base + "/v1/matchmaking/tickets/" + id + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if r := call(t, "DELETE", base+"/v1/matchmaking/tickets/"+id, ""); r.status != 204 {
		t.Fatalf("cancel: %d %v", r.status, r.body)
	}
	b, _ := io.ReadAll(resp.Body)
	if !bytes.Contains(b, []byte(`"status":"queued"`)) || !bytes.Contains(b, []byte(`"status":"cancelled"`)) {
		t.Fatalf("event stream %q: want a queued then a cancelled status", b)
	}
}
