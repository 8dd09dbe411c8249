package lobby

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// attrs is n attributes with keys of keyLen bytes and values of valLen.
func attrs(n, keyLen, valLen int, fill string) map[string]string {
	m := map[string]string{}
	for i := range n {
		k := fmt.Sprintf("k%d", i)
		m[k+strings.Repeat("x", keyLen-len(k))] = strings.Repeat(fill, valLen)
	}
	return m
}

// TestTicketMetadataLimits: a matchmaking request's team and attributes are
// bounded, each refusal a 400 whose message names the limit and the player;
// a request within the limits whose join tickets would still be too long
// for a node is refused as a whole; one at every limit with plain text fits
// and is matched, its members' metadata in their signed join tickets.
func TestTicketMetadataLimits(t *testing.T) {
	l, base := newTestLobby(t)
	ticket := func(meta map[string]any, party ...map[string]any) string {
		body := map[string]any{"player_id": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "name": "Ann", "mode": "duo", "rating": 1500}
		for k, v := range meta {
			body[k] = v
		}
		if len(party) > 0 {
			body["party"] = party
		}
		return mustJSON(body)
	}
	for _, tc := range []struct {
		name   string
		body   string
		code   string
		saying string
	}{
		{"long team", ticket(map[string]any{"team": strings.Repeat("t", MaxTeam+1)}), "bad_metadata", "team is 17 bytes; at most 16"},
		{"control in team", ticket(map[string]any{"team": "red\n"}), "bad_metadata", "team has a control character"},
		{"too many attributes", ticket(map[string]any{"attributes": attrs(MaxAttributes+1, 4, 4, "v")}), "bad_metadata", "9 attributes; at most 8 (MaxAttributes)"},
		{"long key", ticket(map[string]any{"attributes": attrs(1, MaxAttributeKey+1, 4, "v")}), "bad_metadata", "is 17 bytes; at most 16 (MaxAttributeKey)"},
		{"bad key", ticket(map[string]any{"attributes": map[string]string{"a key": "v"}}), "bad_metadata", `attribute key "a key": want 1 to 16 of A-Z a-z 0-9 _ . -`},
		{"empty key", ticket(map[string]any{"attributes": map[string]string{"": "v"}}), "bad_metadata", `attribute key ""`},
		{"long value", ticket(map[string]any{"attributes": attrs(1, 4, MaxAttributeValue+1, "v")}), "bad_metadata", "value is 25 bytes; at most 24"},
		{"party member's team", ticket(nil, map[string]any{"player_id": "bob", "team": strings.Repeat("t", MaxTeam+1)}), "bad_metadata", "player bob: team"},
		// Within every limit, but JSON writes each < as \u003c: the
		// ticket would be far over.
		{"too large once signed", ticket(map[string]any{"team": strings.Repeat("<", MaxTeam), "attributes": attrs(MaxAttributes, MaxAttributeKey, MaxAttributeValue, "<")}),
			"metadata_too_large", "over the 1024 a node accepts"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, "POST", base+"/v1/matchmaking/tickets", tc.body)
			e, _ := r.body["error"].(map[string]any)
			msg, _ := e["message"].(string)
			if r.status != 400 || r.errCode() != tc.code || !strings.Contains(msg, tc.saying) {
				t.Fatalf("%d %q %q; want 400 %s saying %q", r.status, r.errCode(), msg, tc.code, tc.saying)
			}
		})
	}
	// Nothing refused was queued: the owner may queue again.
	full := attrs(MaxAttributes, MaxAttributeKey, MaxAttributeValue, "v")
	r := call(t, "POST", base+"/v1/matchmaking/consents", `{"player_id":"bob","leader":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}`)
	consent, _ := r.body["consent"].(string)
	r = call(t, "POST", base+"/v1/matchmaking/tickets", ticket(map[string]any{"team": strings.Repeat("t", MaxTeam), "attributes": full},
		map[string]any{"player_id": "bob", "name": "Bob", "team": "blue", "consent": consent}))
	if r.status != 201 {
		t.Fatalf("a request at every limit: %d %v", r.status, r.body)
	}
	id, _ := r.body["ticket_id"].(string)
	r = call(t, "GET", base+"/v1/matchmaking/tickets/"+id+"?wait=10s", "")
	a, _ := r.body["assignment"].(map[string]any)
	jts, _ := a["join_tickets"].(map[string]any)
	if r.body["status"] != "matched" || len(jts) != 2 {
		t.Fatalf("the party of two in duo: %v", r.body)
	}
	for player, want := range map[string]Claims{
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": {Team: strings.Repeat("t", MaxTeam), Attributes: full},
		"bob":                              {Team: "blue"},
	} {
		tok, _ := jts[player].(string)
		if len(tok) > maxTicket {
			t.Fatalf("%s's join ticket is %d bytes, over %d", player, len(tok), maxTicket)
		}
		c, err := l.signer.Verify(tok, time.Now())
		if err != nil {
			t.Fatalf("%s's join ticket: %v", player, err)
		}
		got, _ := json.Marshal(map[string]any{"team": c.Team, "attributes": c.Attributes, "party": c.Party})
		exp, _ := json.Marshal(map[string]any{"team": want.Team, "attributes": want.Attributes, "party": id})
		if string(got) != string(exp) {
			t.Fatalf("%s's join ticket says %s, want %s", player, got, exp)
		}
	}
}
