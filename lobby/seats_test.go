package lobby

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tickwire/tickwire/internal/redistest"
	"github.com/tickwire/tickwire/lobby/directory"
	"github.com/tickwire/tickwire/lobby/matchmaker"
)

// stores are the queue and directory a test runs on: the embedded ones, and
// the Redis ones on a real redis-server.
var stores = []string{"embedded", "redis"}

var redisPrefixes atomic.Int64

// newStoreLobby is newTestLobby with the queue and directory of store.
func newStoreLobby(t *testing.T, store string) (*Lobby, string) {
	t.Helper()
	return startLobby(t, func(c *Config) {
		if store != "redis" {
			return
		}
		c2 := redis.NewClient(&redis.Options{Addr: redistest.Start(t).Addr})
		t.Cleanup(func() { _ = c2.Close() })
		prefix := fmt.Sprintf("t%d:", redisPrefixes.Add(1))
		q := matchmaker.NewRedis(c2, prefix)
		t.Cleanup(func() { _ = q.Close() })
		c.Queue, c.Directory = q, directory.NewRedis(c2, prefix, time.Minute)
	})
}

// queue creates a ticket and returns its id.
func queue(t *testing.T, base, body string) string {
	t.Helper()
	r := call(t, "POST", base+"/v1/matchmaking/tickets", body)
	id, _ := r.body["ticket_id"].(string)
	if r.status != 201 || id == "" {
		t.Fatalf("queue %s: %d %v", body, r.status, r.body)
	}
	return id
}

// matched long-polls a ticket until it is matched and returns its join
// tickets by player.
func matched(t *testing.T, base, id string) map[string]string {
	t.Helper()
	r := call(t, "GET", base+"/v1/matchmaking/tickets/"+id+"?wait=20s", "")
	a, _ := r.body["assignment"].(map[string]any)
	if r.body["status"] != "matched" || a == nil {
		t.Fatalf("ticket %s: %d %v, want matched", id, r.status, r.body)
	}
	jt, _ := a["join_tickets"].(map[string]any)
	out := map[string]string{}
	for p, tok := range jt {
		out[p], _ = tok.(string)
	}
	return out
}

// consent asks the lobby for player's consent to leader's party.
func consent(t *testing.T, base, player, leader string) string {
	t.Helper()
	r := call(t, "POST", base+"/v1/matchmaking/consents", `{"player_id":"`+player+`","leader":"`+leader+`"}`)
	tok, _ := r.body["consent"].(string)
	if r.status != 201 || tok == "" {
		t.Fatalf("consent of %s to %s: %d %v", player, leader, r.status, r.body)
	}
	return tok
}

// TestMatchedTicketsShowOwnSeatsOnly: strangers matched into one room each
// read their own join ticket, and a party its members', never another's.
func TestMatchedTicketsShowOwnSeatsOnly(t *testing.T) {
	for _, store := range stores {
		t.Run(store, func(t *testing.T) {
			l, base := newStoreLobby(t, store)
			alice := queue(t, base, `{"player_id":"alice","mode":"duo","rating":1500}`)
			bob := queue(t, base, `{"player_id":"bob","mode":"duo","rating":1500}`)
			for id, who := range map[string]string{alice: "alice", bob: "bob"} {
				jt := matched(t, base, id)
				if got := slices.Sorted(maps.Keys(jt)); !slices.Equal(got, []string{who}) {
					t.Fatalf("%s's ticket shows the join tickets of %v, want only %s's", who, got, who)
				}
				if c, err := l.signer.Verify(jt[who], time.Now()); err != nil || c.Player != who {
					t.Fatalf("%s's join ticket: %+v, %v", who, c, err)
				}
			}
			// A party of two and two strangers in a 4-seat arena room.
			party := `{"player_id":"cat","mode":"arena","party":[{"player_id":"dan","consent":"` + consent(t, base, "dan", "cat") + `"}]}`
			want := map[string][]string{
				queue(t, base, party):                                {"cat", "dan"},
				queue(t, base, `{"player_id":"eve","mode":"arena"}`): {"eve"},
				queue(t, base, `{"player_id":"fay","mode":"arena"}`): {"fay"},
			}
			for id, players := range want {
				if got := slices.Sorted(maps.Keys(matched(t, base, id))); !slices.Equal(got, players) {
					t.Fatalf("ticket of %v shows the join tickets of %v", players, got)
				}
			}
		})
	}
}

// TestRepeatedJoinKeepsOneSeat: asking again for a seat in a room renews the
// player's seat, with a fresh ticket, instead of taking another.
func TestRepeatedJoinKeepsOneSeat(t *testing.T) {
	for _, store := range stores {
		t.Run(store, func(t *testing.T) {
			l, base := newStoreLobby(t, store)
			r := call(t, "POST", base+"/v1/rooms", `{"mode":"duo"}`)
			room, _ := r.body["room_id"].(string)
			if r.status != 201 || room == "" {
				t.Fatalf("create room: %d %v", r.status, r.body)
			}
			join := base + "/v1/rooms/" + room + "/join"
			tickets := map[string]bool{}
			for i := range 5 {
				r := call(t, "POST", join, `{"player_id":"alice","name":"Alice `+fmt.Sprint(i)+`"}`)
				tok, _ := r.body["join_ticket"].(string)
				if r.status != 200 || r.body["room_id"] != room || tok == "" {
					t.Fatalf("alice's request %d: %d %v", i, r.status, r.body)
				}
				c, err := l.signer.Verify(tok, time.Now())
				if err != nil || c.Player != "alice" || c.Name != fmt.Sprint("Alice ", i) {
					t.Fatalf("alice's ticket %d: %+v, %v", i, c, err)
				}
				tickets[tok] = true
			}
			if len(tickets) != 5 {
				t.Errorf("5 requests gave %d distinct tickets, want a fresh one each time", len(tickets))
			}
			if r := call(t, "POST", join, `{"player_id":"bob"}`); r.status != 200 {
				t.Fatalf("bob, after alice asked 5 times in a 2-seat room: %d %v, want a seat", r.status, r.body)
			}
			if r := call(t, "POST", join, `{"player_id":"carol"}`); r.status != 409 || r.errCode() != "room_full" {
				t.Fatalf("carol in the room alice and bob hold: %d %v, want 409 room_full", r.status, r.body)
			}
			if r := call(t, "POST", join, `{"player_id":"alice"}`); r.status != 200 {
				t.Fatalf("alice renews her seat in the full room: %d %v", r.status, r.body)
			}
		})
	}
}

// TestPartyNeedsConsent: a party is queued only with each member's consent,
// and naming a player in a party never keeps them from queueing alone.
func TestPartyNeedsConsent(t *testing.T) {
	for _, store := range stores {
		t.Run(store, func(t *testing.T) {
			l, base := newStoreLobby(t, store)
			post := func(body string) response {
				return call(t, "POST", base+"/v1/matchmaking/tickets", body)
			}
			party := func(leader, member, tok string) string {
				return `{"player_id":"` + leader + `","mode":"arena","party":[{"player_id":"` + member + `","consent":"` + tok + `"}]}`
			}
			// Mallory names bob without his consent, or with a consent
			// that is not bob's to mallory.
			expired := l.signer.SignConsent(Consent{Player: "bob", Leader: "mallory", Expires: time.Now().Add(-time.Second).Unix()})
			for _, tc := range []struct{ name, body, code string }{
				{"none", `{"player_id":"mallory","mode":"arena","party":[{"player_id":"bob"}]}`, "consent_required"},
				{"to another leader", party("mallory", "bob", consent(t, base, "bob", "alice")), "consent_refused"},
				{"of another player", party("mallory", "bob", consent(t, base, "mallory2", "mallory")), "consent_refused"},
				{"expired", party("mallory", "bob", expired), "consent_refused"},
				{"forged", party("mallory", "bob", expired[:len(expired)-3]+"AAA"), "consent_refused"},
				{"a join ticket", party("mallory", "bob", l.signer.Sign(Claims{Player: "bob", Room: "r", Expires: time.Now().Add(time.Hour).Unix()})), "consent_refused"},
			} {
				if r := post(tc.body); r.status != 403 || r.errCode() != tc.code {
					t.Errorf("party naming bob, consent %s: %d %v, want 403 %s", tc.name, r.status, r.body, tc.code)
				}
			}
			bob := queue(t, base, `{"player_id":"bob","mode":"duo"}`)
			if r := call(t, "DELETE", base+"/v1/matchmaking/tickets/"+bob, ""); r.status != 204 {
				t.Fatalf("cancel bob's ticket: %d %v", r.status, r.body)
			}

			// Bob consents to alice's party; later he queues alone after
			// all, which takes him out of it and cancels the party ticket.
			p := queue(t, base, party("alice", "bob", consent(t, base, "bob", "alice")))
			solo := queue(t, base, `{"player_id":"bob","mode":"duo"}`)
			if r := call(t, "GET", base+"/v1/matchmaking/tickets/"+p, ""); r.body["status"] != "cancelled" {
				t.Fatalf("alice's party ticket after bob queued alone: %v, want cancelled", r.body)
			}
			if r := call(t, "GET", base+"/v1/matchmaking/tickets/"+solo, ""); r.body["status"] != "queued" {
				t.Fatalf("bob's own ticket: %v, want queued", r.body)
			}
			queue(t, base, `{"player_id":"alice","mode":"arena"}`) // alice is free again
			// A party naming bob while his own ticket is queued is refused;
			// his ticket stays.
			if r := post(party("carol", "bob", consent(t, base, "bob", "carol"))); r.status != 409 || r.errCode() != "already_queued" {
				t.Fatalf("carol's party naming the queued bob: %d %v, want 409 already_queued", r.status, r.body)
			}
			if r := call(t, "GET", base+"/v1/matchmaking/tickets/"+solo, ""); r.body["status"] != "queued" {
				t.Fatalf("bob's own ticket after carol's refused party: %v, want queued", r.body)
			}
			if r := call(t, "POST", base+"/v1/matchmaking/consents", `{"player_id":"bob","leader":"bob"}`); r.status != 400 {
				t.Errorf("consent to one's own party: %d %v, want 400", r.status, r.body)
			}
			if strings.Contains(mustJSON(call(t, "GET", base+"/v1/matchmaking/tickets/"+p, "").body), "consent") {
				t.Error("a ticket shows its members' consents")
			}
		})
	}
}
