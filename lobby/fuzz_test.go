package lobby

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tickwire/tickwire/lobby/directory"
	"github.com/tickwire/tickwire/lobby/leaderboard"
	"github.com/tickwire/tickwire/lobby/matchmaker"
)

// fuzzNow is the clock of the ticket fuzz targets.
var fuzzNow = time.Unix(1_800_000_000, 0)

func fuzzSigner(tb testing.TB) *Signer {
	s, err := NewSigner([]byte("0123456789abcdef-fuzz-secret"))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// FuzzVerifyTicket feeds arbitrary strings to the verifier, which must never
// accept a token it did not sign: here only the one valid ticket is signed, so
// any other string that verifies is a forgery.
func FuzzVerifyTicket(f *testing.F) {
	s := fuzzSigner(f)
	good := Claims{ID: "t1", Player: "p1", Name: "Ann", Room: "r-1", Mode: "arena", Node: "n1", Expires: fuzzNow.Add(time.Minute).Unix()}
	tok := s.Sign(good)
	f.Add(tok)
	f.Add(tok + "\n")
	f.Add(tok[:len(tok)-1])
	f.Add(ticketPrefix + "." + tok[strings.LastIndexByte(tok, '.')+1:])
	f.Add(ticketPrefix)
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		c, err := s.Verify(token, fuzzNow)
		if err != nil {
			if !reflect.DeepEqual(c, Claims{}) {
				t.Fatalf("Verify refused %q (%v) but returned claims %+v", token, err, c)
			}
			if !errors.Is(err, ErrTicketMalformed) && !errors.Is(err, ErrTicketForged) && !errors.Is(err, ErrTicketExpired) {
				t.Fatalf("Verify(%q): unexpected error %v", token, err)
			}
			return
		}
		if token != tok || !reflect.DeepEqual(c, good) {
			t.Fatalf("Verify accepted %q as %+v: not the token it signed", token, c)
		}
	})
}

// FuzzTicketMutation signs claims, changes the token in one place (a byte
// replaced, inserted or deleted) and checks that the changed token fails
// verification: the only token that verifies is the exact one signed.
func FuzzTicketMutation(f *testing.F) {
	s := fuzzSigner(f)
	f.Add("p1", "Ann", "r-1", "arena", uint16(5), byte('A'), uint8(0))
	f.Add("player@example.com", "Zoë", "r-2f0c", "duel", uint16(200), byte('\n'), uint8(1))
	f.Add("p", "", "r", "", uint16(0), byte('.'), uint8(2))
	f.Fuzz(func(t *testing.T, player, name, room, mode string, pos uint16, b byte, op uint8) {
		c := Claims{ID: "t", Player: player, Name: name, Room: room, Mode: mode, Node: "n1", Expires: fuzzNow.Add(time.Hour).Unix()}
		tok := s.Sign(c)
		if _, err := s.Verify(tok, fuzzNow); err != nil {
			if len(tok) <= maxTicket && player != "" && room != "" && utf8.ValidString(player+name+room+mode) {
				t.Fatalf("Verify refused its own ticket for %+v: %v", c, err)
			}
			return
		}
		i := int(pos) % (len(tok) + 1)
		var mutated string
		switch op % 3 {
		case 0: // replace
			if i == len(tok) {
				i--
			}
			mutated = tok[:i] + string([]byte{b}) + tok[i+1:]
		case 1: // insert
			mutated = tok[:i] + string([]byte{b}) + tok[i:]
		default: // delete
			if i == len(tok) {
				i--
			}
			mutated = tok[:i] + tok[i+1:]
		}
		got, err := s.Verify(mutated, fuzzNow)
		if err == nil && mutated != tok {
			t.Fatalf("Verify accepted a changed ticket:\n signed  %q\n changed %q\n claims %+v", tok, mutated, got)
		}
	})
}

// FuzzParseModes checks that ParseModes refuses or returns valid modes, and
// that what it returns, written back out, parses to the same modes.
func FuzzParseModes(f *testing.F) {
	for _, s := range []string{"arena:16:2m,duel:2:1m", "duo:2:60s:10", " a:1 , b:1024:0s:0 ", "x:0", "x:1,x:2", "a:1:-1s", "a:1:1h:-1", "", ",", "a:1:2:3:4", "A:1", "duel:2:1m:connect4", "t:4:tanks", "t:4:2m:5:tanks", "t:4:Tanks", "t:tanks"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		modes, err := ParseModes(s)
		if err != nil {
			if modes != nil {
				t.Fatalf("ParseModes(%q) failed (%v) but returned %v", s, err, modes)
			}
			return
		}
		if len(modes) == 0 {
			t.Fatalf("ParseModes(%q) returned no modes and no error", s)
		}
		seen := map[string]bool{}
		parts := make([]string, len(modes))
		for i, m := range modes {
			if !modeName.MatchString(m.Name) || seen[m.Name] || m.Size < 1 || m.Size > 1024 || m.Duration < 0 || m.ScoreLimit < 0 ||
				(m.Game != "" && !modeName.MatchString(m.Game)) {
				t.Fatalf("ParseModes(%q) returned an invalid mode %+v", s, m)
			}
			seen[m.Name] = true
			if r := m.Rules(20); r.MaxPlayers != m.Size || r.MinPlayers != m.Size {
				t.Fatalf("mode %+v: rules %+v", m, r)
			}
			parts[i] = fmt.Sprintf("%s:%d:%s:%d", m.Name, m.Size, m.Duration, m.ScoreLimit)
			if m.Game != "" {
				parts[i] += ":" + m.Game
			}
		}
		again, err := ParseModes(strings.Join(parts, ","))
		if err != nil || len(again) != len(modes) {
			t.Fatalf("modes %v written back as %q: %v, %v", modes, strings.Join(parts, ","), again, err)
		}
		for i := range modes {
			if again[i] != modes[i] {
				t.Fatalf("round trip: %+v, want %+v", again[i], modes[i])
			}
		}
	})
}

// fuzzLobby is a lobby with embedded stores and no background loops, served
// in process: each request runs on the caller's goroutine.
type fuzzLobby struct {
	l       *Lobby
	handler http.Handler
	codes   map[string]bool
	room    string // an open public room
	code    string // the code of a private room
}

func newFuzzLobby(f *testing.F) *fuzzLobby {
	dir := f.TempDir()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() { // bolt syncs every commit
		if dir, err = os.MkdirTemp("/dev/shm", "tickwire-fuzz-"); err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { _ = os.RemoveAll(dir) })
	}
	boards, err := leaderboard.OpenBolt(filepath.Join(dir, "lb.db"), leaderboard.BoltOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = boards.Close() })
	modes, _ := ParseModes("duo:2:1m,arena:4")
	l, err := New(context.Background(), Config{
		NodeID: "n1", Address: "ws://127.0.0.1:1", Secret: []byte("0123456789abcdef0123"),
		Modes: modes, Leaderboards: boards, Queue: matchmaker.NewMemory(), Directory: directory.NewMemory(time.Minute),
		Rooms: func() []RoomReport { return nil }, APIKey: testKey,
		// Every request comes from one address; limits would turn the
		// fuzzer's inputs into 429s.
		RateLimits: RateLimits{API: Limit{Rate: -1}, JoinCode: Limit{Rate: -1}, CreateRoom: Limit{Rate: -1}},
	})
	if err != nil {
		f.Fatal(err)
	}
	fl := &fuzzLobby{l: l, handler: l.Handler(), codes: declaredCodes(f)}
	ctx := context.Background()
	pub, err := l.createRoom(ctx, modes[1], false, false, 0, 0)
	if err != nil {
		f.Fatal(err)
	}
	priv, err := l.createRoom(ctx, modes[1], true, false, 0, 0)
	if err != nil {
		f.Fatal(err)
	}
	fl.room, fl.code = pub.ID, priv.Code
	return fl
}

func (fl *fuzzLobby) do(method, path, body string, auth bool) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://lobby"+path, strings.NewReader(body))
	if auth {
		req.Header.Set("Authorization", "Bearer "+testKey)
	}
	w := httptest.NewRecorder()
	fl.handler.ServeHTTP(w, req)
	return w
}

// declaredCodes are the error codes the lobby's source gives errf as string
// literals: an answer with any other code is not a stable one.
func declaredCodes(tb testing.TB) map[string]bool {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		tb.Fatal(err)
	}
	codes := map[string]bool{}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			tb.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, _ := n.(*ast.CallExpr)
			if call == nil || len(call.Args) < 2 {
				return true
			}
			fn, _ := call.Fun.(*ast.Ident)
			lit, _ := call.Args[1].(*ast.BasicLit)
			if fn != nil && fn.Name == "errf" && lit != nil && lit.Kind == token.STRING {
				code, _ := strconv.Unquote(lit.Value)
				codes[code] = true
			}
			return true
		})
	}
	if len(codes) < 10 {
		tb.Fatalf("found only %d error codes in the lobby's source: %v", len(codes), codes)
	}
	return codes
}

// checkAnswer checks an API answer: never a 5xx, JSON always, and every
// error carries a stable code and a message.
func checkAnswer(t *testing.T, codes map[string]bool, what string, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code >= 500 || w.Code < 200 {
		t.Fatalf("%s answered %d: %s", what, w.Code, w.Body)
	}
	if w.Code == http.StatusNoContent {
		return
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s answered %d with Content-Type %q: %s", what, w.Code, ct, w.Body)
	}
	if w.Code < 400 {
		if !json.Valid(w.Body.Bytes()) {
			t.Fatalf("%s answered %d with invalid JSON %q", what, w.Code, w.Body)
		}
		return
	}
	var e errorBody
	dec := json.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || !codes[e.Error.Code] || e.Error.Message == "" {
		t.Fatalf("%s answered %d without a JSON error of a stable code and a message: %v %+v", what, w.Code, err, e)
	}
}

// checkBoard reads a board's top entries and checks they are ranked 1, 2, ...
// in the board's order.
func (fl *fuzzLobby) checkBoard(t *testing.T, board string) {
	t.Helper()
	w := fl.do("GET", "/v1/leaderboards/"+url.PathEscape(board)+"/entries?limit=1000", "", false)
	checkAnswer(t, fl.codes, "top entries of "+board, w)
	if w.Code != http.StatusOK { // no such board, or not a valid board id
		return
	}
	var top struct{ Entries []entryJSON }
	if err := json.Unmarshal(w.Body.Bytes(), &top); err != nil {
		t.Fatal(err)
	}
	b, err := fl.l.cfg.Leaderboards.Board(context.Background(), board)
	if err != nil {
		t.Fatalf("board %q answered entries but not its definition: %v", board, err)
	}
	for i, e := range top.Entries {
		if e.Rank != int64(i+1) {
			t.Fatalf("board %q: entry %d has rank %d", board, i, e.Rank)
		}
		if i == 0 {
			continue
		}
		prev := top.Entries[i-1].Score
		if (b.Order == leaderboard.Descending && e.Score > prev) || (b.Order == leaderboard.Ascending && e.Score < prev) {
			t.Fatalf("board %q (%v) out of order at rank %d: %d after %d", board, b.Order, e.Rank, e.Score, prev)
		}
	}
}

// FuzzAPIPost drives every POST endpoint of the lobby API with fuzzed bodies
// (and a fuzzed path parameter where the endpoint has one) and checks the
// answers and that the stores stay readable and consistent.
func FuzzAPIPost(f *testing.F) {
	fl := newFuzzLobby(f)
	seeds := []struct {
		endpoint uint8
		param    string
		body     string
		auth     bool
	}{
		{0, "", `{"player_id":"a","mode":"duo","rating":1500,"party":[{"player_id":"b","name":"Bee"}]}`, false},
		{0, "", `{"player_id":"a","mode":"duo","rating":1e309}`, false},
		{1, "", `{"mode":"arena","private":true}`, false},
		{2, "", `{"player_id":"c","name":" Cee "}`, false},
		{3, "", `{"player_id":"d","code":"` + fl.code + `"}`, false},
		{4, "", `{"join_ticket":"tw1.e30.AAAA"}`, false},
		{5, "", `{"id":"speedrun","order":"asc","operator":"set","reset":"@daily"}`, true},
		{6, "duo", `{"player_id":"e","name":"Eve","score":42}`, true},
		{6, "speedrun", `{"player_id":"e","score":-9223372036854775808}`, true},
		{6, "duo-weekly", `{"player_id":"e","score":9223372036854775807}`, true},
		{0, "", `{"player_id": `, false},
		{2, "r-nope", `{"player_id":"x"}`, false},
		{7, "", `{"player_id":"b","leader":"a"}`, false},
		{7, "", `{"player_id":"b","leader":"b"}`, false},
		{0, "", `{"player_id":"a","mode":"arena","party":[{"player_id":"b","consent":"twc1.e30.AAAA"}]}`, false},
		{0, "", `{"player_id":"a","mode":"duo","team":"red","attributes":{"class":"medic","skin":"gold"}}`, false},
		{0, "", `{"player_id":"a","mode":"duo","team":"red\u0000","attributes":{"a key":"v","":"","k":"\u00e9\u003c"}}`, false},
		{0, "", `{"player_id":"a","mode":"duo","attributes":{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6","g":"7","h":"8","i":"9"}}`, false},
		{0, "", `{"player_id":"a","mode":"duo","team":"<<<<<<<<<<<<<<<<","attributes":{"k0xxxxxxxxxxxxxx":"<<<<<<<<<<<<<<<<<<<<<<<<","k1xxxxxxxxxxxxxx":"<<<<<<<<<<<<<<<<<<<<<<<<"}}`, false},
		{0, "", `{"player_id":"a","mode":"duo","attributes":null,"party":[{"player_id":"b","team":"blue","attributes":{"k":"v"},"consent":"twc1.e30.AAAA"}]}`, false},
	}
	for _, s := range seeds {
		f.Add(s.endpoint, s.param, s.body, s.auth)
	}
	f.Fuzz(func(t *testing.T, endpoint uint8, param, body string, auth bool) {
		if param == "." || param == ".." {
			// A path segment the mux cleans away and redirects (307): no
			// room or board has such an id.
			param = "dot"
		}
		var path string
		switch endpoint % 8 {
		case 0:
			path = "/v1/matchmaking/tickets"
		case 1:
			path = "/v1/rooms"
		case 2:
			if param == "" {
				param = fl.room
			}
			path = "/v1/rooms/" + url.PathEscape(param) + "/join"
		case 3:
			path = "/v1/rooms/join-by-code"
		case 4:
			path = "/v1/tickets/verify"
		case 5:
			path = "/v1/leaderboards"
		case 6:
			if param == "" {
				param = "duo"
			}
			path = "/v1/leaderboards/" + url.PathEscape(param) + "/scores"
		case 7:
			path = "/v1/matchmaking/consents"
		}
		w := fl.do("POST", path, body, auth)
		checkAnswer(t, fl.codes, "POST "+path, w)

		// The stores still answer, and the boards stay in order.
		checkAnswer(t, fl.codes, "list boards", fl.do("GET", "/v1/leaderboards", "", false))
		checkAnswer(t, fl.codes, "list rooms", fl.do("GET", "/v1/rooms?limit=100", "", false))
		fl.checkBoard(t, "duo")
		if endpoint%8 == 6 && utf8.ValidString(param) {
			fl.checkBoard(t, param)
			if w.Code == http.StatusOK {
				var e entryJSON
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
					t.Fatal(err)
				}
				rank := fl.do("GET", "/v1/leaderboards/"+url.PathEscape(param)+"/players/"+url.PathEscape(e.Player), "", false)
				checkAnswer(t, fl.codes, "rank after a submit", rank)
				var r entryJSON
				if err := json.Unmarshal(rank.Body.Bytes(), &r); rank.Code != http.StatusOK || err != nil || r.Score != e.Score || r.Player != e.Player {
					t.Fatalf("rank of %q on %q after submitting: %d %s, want score %d", e.Player, param, rank.Code, rank.Body, e.Score)
				}
			}
		}
	})
}
