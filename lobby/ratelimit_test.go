package lobby

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// limitedLobby serves a lobby whose rate limits apply to loopback peers.
func limitedLobby(t *testing.T, rl RateLimits) (*Lobby, string) {
	t.Helper()
	rl.LimitLoopback = true
	l := newFaultLobby(t, func(c *Config) { c.RateLimits = rl; c.APIKey = testKey })
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(srv.Close)
	return l, srv.URL
}

// clientFrom is an HTTP client whose connections come from the loopback
// address ip (any of 127.0.0.0/8 reaches a server on 127.0.0.1).
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext}, Timeout: 10 * time.Second}
}

func post(t *testing.T, c *http.Client, url, body string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func wantLimited(t *testing.T, what string, resp *http.Response, body string) int {
	t.Helper()
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(body, `"code":"rate_limited"`) {
		t.Fatalf("%s: %d %s; want 429 rate_limited", what, resp.StatusCode, body)
	}
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("%s: Retry-After %q; want whole seconds, at least 1", what, resp.Header.Get("Retry-After"))
	}
	return secs
}

// TestAPIRateLimitPerAddress: past its burst an address gets 429
// rate_limited with a Retry-After that, once waited, lets it in again;
// another address and the API key are not held back; the refusals are
// counted.
func TestAPIRateLimitPerAddress(t *testing.T) {
	// One token per 2 s: the 4 requests below take far less on any machine.
	l, base := limitedLobby(t, RateLimits{API: Limit{Rate: 0.5, Burst: 3}})
	a, b := clientFrom("127.0.0.2"), clientFrom("127.0.0.3")
	for i := range 3 {
		if resp, body := post(t, a, base+"/v1/rooms", `{"mode":"duo"}`); resp.StatusCode != 201 {
			t.Fatalf("request %d within the burst: %d %s", i+1, resp.StatusCode, body)
		}
	}
	resp, body := post(t, a, base+"/v1/rooms", `{"mode":"duo"}`)
	secs := wantLimited(t, "4th request", resp, body)
	if resp, body := post(t, b, base+"/v1/rooms", `{"mode":"duo"}`); resp.StatusCode != 201 {
		t.Fatalf("another address: %d %s; want it served", resp.StatusCode, body)
	}
	for range 10 {
		if resp, body := post(t, a, base+"/v1/leaderboards/duo/scores", `{"player_id":"p","score":1}`, "Authorization", "Bearer "+testKey); resp.StatusCode != 200 {
			t.Fatalf("with the API key: %d %s; want it served", resp.StatusCode, body)
		}
	}
	if st := l.Stats(); st.APIRateLimited != 1 || st.RateLimitKeys != 2+2 {
		t.Fatalf("stats: %d limited, %d keys; want 1 and 4 (2 addresses x api and room limits)", st.APIRateLimited, st.RateLimitKeys)
	}
	time.Sleep(time.Duration(secs) * time.Second)
	if resp, body := post(t, a, base+"/v1/rooms", `{"mode":"duo"}`); resp.StatusCode != 201 {
		t.Fatalf("after Retry-After: %d %s; want it served", resp.StatusCode, body)
	}
}

// TestJoinCodeAndRoomCreationLimits: join by code and room creation have
// their own, tighter budgets, while the rest of the API still answers.
func TestJoinCodeAndRoomCreationLimits(t *testing.T) {
	l, base := limitedLobby(t, RateLimits{JoinCode: Limit{Rate: 0.01, Burst: 2}, CreateRoom: Limit{Rate: 0.01, Burst: 2}})
	c := clientFrom("127.0.0.4")
	for i := range 2 {
		if resp, body := post(t, c, base+"/v1/rooms/join-by-code", `{"player_id":"g","code":"ZZZZZZ"}`); resp.StatusCode != 404 {
			t.Fatalf("guess %d: %d %s; want 404 unknown_code", i+1, resp.StatusCode, body)
		}
	}
	resp, body := post(t, c, base+"/v1/rooms/join-by-code", `{"player_id":"g","code":"ZZZZZY"}`)
	wantLimited(t, "3rd guess", resp, body)
	for i := range 2 {
		if resp, body := post(t, c, base+"/v1/rooms", `{"mode":"duo","private":true}`); resp.StatusCode != 201 {
			t.Fatalf("room %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	resp, body = post(t, c, base+"/v1/rooms", `{"mode":"duo"}`)
	wantLimited(t, "3rd room", resp, body)
	if resp, body := post(t, c, base+"/v1/matchmaking/tickets", `{"player_id":"g","mode":"duo"}`); resp.StatusCode != 201 {
		t.Fatalf("other calls from the address: %d %s; want them served", resp.StatusCode, body)
	}
	if st := l.Stats(); st.JoinCodeRateLimited != 1 || st.RoomCreateRateLimited != 1 || st.APIRateLimited != 0 {
		t.Fatalf("stats %+v: want 1 join-code and 1 room refusal", st)
	}
}

// TestLoopbackExempt: by default loopback peers (a proxy on the host, local
// tests) are not limited.
func TestLoopbackExempt(t *testing.T) {
	l := newFaultLobby(t, func(c *Config) { c.RateLimits = RateLimits{API: Limit{Rate: 0.01, Burst: 1}} })
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(srv.Close)
	for i := range 20 {
		if r := call(t, "GET", srv.URL+"/v1/modes", ""); r.status != 200 {
			t.Fatalf("request %d from loopback: %d", i+1, r.status)
		}
	}
}

// TestRateLimitKeys: IPv6 peers count by /64, IPv4 one by one, loopback not
// unless asked.
func TestRateLimitKeys(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"[2001:db8:1:2::1]:5000", "[2001:db8:1:2:ffff::9]:6000", true},
		{"[2001:db8:1:2::1]:5000", "[2001:db8:1:3::1]:5000", false},
		{"192.0.2.1:1", "192.0.2.1:2", true},
		{"192.0.2.1:1", "192.0.2.2:1", false},
		{"[::ffff:192.0.2.1]:1", "192.0.2.1:2", true},
	} {
		ka, _ := clientKey(tc.a, false)
		kb, _ := clientKey(tc.b, false)
		if (ka == kb) != tc.same {
			t.Errorf("%s -> %q, %s -> %q; same key: %v, want %v", tc.a, ka, tc.b, kb, ka == kb, tc.same)
		}
	}
	if _, limited := clientKey("127.0.0.1:1", false); limited {
		t.Error("loopback limited by default")
	}
	if _, limited := clientKey("[::1]:1", true); !limited {
		t.Error("loopback not limited with LimitLoopback")
	}
}

// TestRateLimitTableIsBounded: a flood of distinct addresses cannot grow a
// table past MaxKeys, and an address still mid-burst is not forgotten
// while refilled ones can be.
func TestRateLimitTableIsBounded(t *testing.T) {
	tb := newBucketTable(Limit{Rate: 1, Burst: 2}, 1000)
	now := time.Unix(1e9, 0)
	for i := range 100_000 {
		tb.take(fmt.Sprintf("10.%d.%d.%d", i>>16, (i>>8)&255, i&255), now)
		if n := tb.len(); n > 1000 {
			t.Fatalf("after %d addresses the table holds %d keys; want at most 1000", i+1, n)
		}
	}
	// Refilled buckets go first: a table of them makes room without evicting.
	tb = newBucketTable(Limit{Rate: 1, Burst: 2}, 10)
	for i := range 10 {
		tb.take(fmt.Sprint("old", i), now)
	}
	tb.take("busy", now.Add(5*time.Second))
	tb.take("busy", now.Add(5*time.Second))
	if ok, _ := tb.take("busy", now.Add(5*time.Second)); ok {
		t.Fatal("3rd request of a burst of 2 allowed")
	}
	if tb.evicted.Load() != 0 {
		t.Fatalf("%d evicted; refilled keys should have made room", tb.evicted.Load())
	}
}

// TestDefaultLimitsStopCodeGuessing: with the default configuration a
// client guessing join codes from one (non-loopback) address is stopped
// after a handful, where it used to get thousands of answers a second.
func TestDefaultLimitsStopCodeGuessing(t *testing.T) {
	l := newFaultLobby(t, func(*Config) {})
	h := l.Handler()
	answered := 0
	for i := range 100 {
		req := httptest.NewRequest("POST", "http://lobby/v1/rooms/join-by-code", strings.NewReader(fmt.Sprintf(`{"player_id":"g","code":"ZZZ%03d"}`, i)))
		req.RemoteAddr = "198.51.100.7:40000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusTooManyRequests {
			answered++
		}
	}
	if answered > 10 {
		t.Fatalf("%d of 100 rapid join-code guesses from one address were answered; want at most 10", answered)
	}
}
