package lobby

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// authService is a stand-in for a game's auth service on loopback: it
// signs players' tokens and serves its public keys as a JWK Set.
type authService struct {
	srv *httptest.Server
	rsa *rsa.PrivateKey
	ec  *ecdsa.PrivateKey
	// mu guards keys, the JWKs served.
	mu   sync.Mutex
	keys []map[string]string
}

var b64 = base64.RawURLEncoding

func newAuthService(t *testing.T) *authService {
	t.Helper()
	a := &authService{}
	var err error
	if a.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if a.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	a.publish("rsa-1", &a.rsa.PublicKey)
	a.publish("ec-1", &a.ec.PublicKey)
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": a.keys})
	}))
	t.Cleanup(a.srv.Close)
	return a
}

// publish adds a public key to the JWK Set.
func (a *authService) publish(kid string, pub any) {
	var k map[string]string
	switch pub := pub.(type) {
	case *rsa.PublicKey:
		k = map[string]string{"kty": "RSA", "alg": "RS256", "n": b64.EncodeToString(pub.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(pub.E)).Bytes())}
	case *ecdsa.PublicKey:
		raw, err := pub.Bytes() // 0x04 || X || Y
		if err != nil {
			panic(err)
		}
		k = map[string]string{"kty": "EC", "alg": "ES256", "crv": "P-256", "x": b64.EncodeToString(raw[1:33]), "y": b64.EncodeToString(raw[33:])}
	}
	k["kid"], k["use"] = kid, "sig"
	a.mu.Lock()
	a.keys = append(a.keys, k)
	a.mu.Unlock()
}

func (a *authService) url() string { return a.srv.URL + "/.well-known/jwks.json" }

// sign makes a token with the method and key, kid in its header.
func sign(t *testing.T, m jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// claimsFor are valid claims for player sub, as the test lobby expects.
func claimsFor(sub string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{"sub": sub, "iss": "https://auth.example", "aud": "tickwire", "nick": "Nick " + sub,
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
}

func with(c jwt.MapClaims, k string, v any) jwt.MapClaims {
	out := jwt.MapClaims{}
	for kk, vv := range c {
		out[kk] = vv
	}
	if v == nil {
		delete(out, k)
	} else {
		out[k] = v
	}
	return out
}

func identityLobby(t *testing.T, id Identity) (*Lobby, string) {
	t.Helper()
	l := newFaultLobby(t, func(c *Config) { c.Identity = id; c.APIKey = testKey })
	t.Cleanup(func() { _ = l.Close(t.Context()) })
	srv := httptest.NewServer(l.Handler())
	t.Cleanup(srv.Close)
	return l, srv.URL
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

// TestIdentityFromJWKS: with identity on, a player's RS256 or ES256 token
// from the auth service's JWK Set decides who the player is: its sub is the
// player id and the nick claim the name, in the ticket and in the signed
// join ticket; a call naming another player is refused 403 wrong_player;
// every malformed, expired, early, foreign or forged token 401 bad_token;
// no token 401 token_required. The API key still acts for anyone.
func TestIdentityFromJWKS(t *testing.T) {
	auth := newAuthService(t)
	l, base := identityLobby(t, Identity{JWKSURL: auth.url(), Issuer: "https://auth.example", Audience: "tickwire", NameClaim: "nick"})
	room, err := l.createRoom(t.Context(), l.modes["duo"], false, false, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	rsaTok := sign(t, jwt.SigningMethodRS256, auth.rsa, "rsa-1", claimsFor("alice"))
	ecTok := sign(t, jwt.SigningMethodES256, auth.ec, "ec-1", claimsFor("bob"))

	r := call(t, "POST", base+"/v1/matchmaking/tickets", `{"mode":"duo","name":"ignored"}`, bearer(rsaTok)...)
	if r.status != 201 || r.body["players"].([]any)[0] != "alice" {
		t.Fatalf("ticket with alice's RS256 token: %d %v", r.status, r.body)
	}
	r = call(t, "POST", base+"/v1/rooms/"+room.ID+"/join", `{"player_id":"bob"}`, bearer(ecTok)...)
	if r.status != 200 {
		t.Fatalf("seat with bob's ES256 token: %d %v", r.status, r.body)
	}
	c, err := l.signer.Verify(r.body["join_ticket"].(string), time.Now())
	if err != nil || c.Player != "bob" || c.Name != "Nick bob" {
		t.Fatalf("bob's join ticket: %+v, %v; want player bob named from the nick claim", c, err)
	}

	now := time.Now()
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	for _, tc := range []struct {
		name, token, body string
		status            int
		code              string
	}{
		{"names another player", rsaTok, `{"player_id":"bob","mode":"duo"}`, 403, "wrong_player"},
		{"party without consent", rsaTok, `{"mode":"duo","party":[{"player_id":"bob"}]}`, 403, "consent_required"},
		{"no token", "", `{"player_id":"alice","mode":"duo"}`, 401, "token_required"},
		{"garbage", "not.a.jwt", `{"mode":"duo"}`, 401, "bad_token"},
		{"expired", sign(t, jwt.SigningMethodRS256, auth.rsa, "rsa-1", with(claimsFor("alice"), "exp", now.Add(-time.Hour).Unix())), `{"mode":"duo"}`, 401, "bad_token"},
		{"no exp", sign(t, jwt.SigningMethodRS256, auth.rsa, "rsa-1", with(claimsFor("alice"), "exp", nil)), `{"mode":"duo"}`, 401, "bad_token"},
		{"not yet valid", sign(t, jwt.SigningMethodRS256, auth.rsa, "rsa-1", with(claimsFor("alice"), "nbf", now.Add(time.Hour).Unix())), `{"mode":"duo"}`, 401, "bad_token"},
		{"other issuer", sign(t, jwt.SigningMethodRS256, auth.rsa, "rsa-1", with(claimsFor("alice"), "iss", "https://evil.example")), `{"mode":"duo"}`, 401, "bad_token"},
		{"other audience", sign(t, jwt.SigningMethodRS256, auth.rsa, "rsa-1", with(claimsFor("alice"), "aud", "another-game")), `{"mode":"duo"}`, 401, "bad_token"},
		{"forged with another key", sign(t, jwt.SigningMethodRS256, otherKey, "rsa-1", claimsFor("alice")), `{"mode":"duo"}`, 401, "bad_token"},
		{"unknown kid", sign(t, jwt.SigningMethodRS256, otherKey, "rsa-9", claimsFor("alice")), `{"mode":"duo"}`, 401, "bad_token"},
		{"alg none", sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", claimsFor("alice")), `{"mode":"duo"}`, 401, "bad_token"},
		{"HS256 keyed with the public key", sign(t, jwt.SigningMethodHS256, []byte(b64.EncodeToString(auth.rsa.N.Bytes())), "rsa-1", claimsFor("alice")), `{"mode":"duo"}`, 401, "bad_token"},
		{"ES256 kid on an RS256 key", sign(t, jwt.SigningMethodES256, auth.ec, "rsa-1", claimsFor("alice")), `{"mode":"duo"}`, 401, "bad_token"},
		{"sub not a player id", sign(t, jwt.SigningMethodRS256, auth.rsa, "rsa-1", with(claimsFor("alice"), "sub", "a b")), `{"mode":"duo"}`, 401, "bad_token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h []string
			if tc.token != "" {
				h = bearer(tc.token)
			}
			r := call(t, "POST", base+"/v1/matchmaking/tickets", tc.body, h...)
			if r.status != tc.status || r.errCode() != tc.code {
				t.Fatalf("%d %v; want %d %s", r.status, r.body, tc.status, tc.code)
			}
		})
	}
	// A consent is a player's own: alice cannot consent for bob; bob can,
	// and alice's party ticket then holds him.
	r = call(t, "POST", base+"/v1/matchmaking/consents", `{"player_id":"bob","leader":"frank"}`, bearer(rsaTok)...)
	if r.status != 403 || r.errCode() != "wrong_player" {
		t.Fatalf("alice consenting for bob: %d %v; want 403 wrong_player", r.status, r.body)
	}
	r = call(t, "POST", base+"/v1/matchmaking/consents", `{"leader":"frank"}`, bearer(ecTok)...)
	if r.status != 201 || r.body["player_id"] != "bob" {
		t.Fatalf("bob's own consent: %d %v", r.status, r.body)
	}
	frank := sign(t, jwt.SigningMethodRS256, auth.rsa, "rsa-1", claimsFor("frank"))
	if r := call(t, "POST", base+"/v1/matchmaking/tickets", mustJSON(map[string]any{"mode": "duo", "party": []any{map[string]any{"player_id": "bob", "consent": r.body["consent"]}}}), bearer(frank)...); r.status != 201 {
		t.Fatalf("frank's party with bob's consent: %d %v", r.status, r.body)
	}
	if r := call(t, "POST", base+"/v1/matchmaking/consents", `{"leader":"frank"}`); r.status != 401 || r.errCode() != "token_required" {
		t.Fatalf("consent without a token: %d %v", r.status, r.body)
	}
	// The trusted backend names whom it likes.
	r = call(t, "POST", base+"/v1/matchmaking/consents", `{"player_id":"dave","leader":"carol"}`, bearer(testKey)...)
	r = call(t, "POST", base+"/v1/matchmaking/tickets", mustJSON(map[string]any{"player_id": "carol", "mode": "duo", "party": []any{map[string]any{"player_id": "dave", "consent": r.body["consent"]}}}), bearer(testKey)...)
	if r.status != 201 {
		t.Fatalf("backend ticket for carol and dave: %d %v", r.status, r.body)
	}
}

// TestIdentityKeyRotation: a key the auth service publishes after the lobby
// started is fetched when a token first names its kid.
func TestIdentityKeyRotation(t *testing.T) {
	auth := newAuthService(t)
	_, base := identityLobby(t, Identity{JWKSURL: auth.url()})
	newKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	tok := sign(t, jwt.SigningMethodRS256, newKey, "rsa-2", claimsFor("erin"))
	auth.publish("rsa-2", &newKey.PublicKey)
	if r := call(t, "POST", base+"/v1/matchmaking/tickets", `{"mode":"duo"}`, bearer(tok)...); r.status != 201 {
		t.Fatalf("token of a rotated-in key: %d %v", r.status, r.body)
	}
}

// TestIdentityHS256: with a shared secret, HS256 tokens are verified, and
// nothing else is taken (no RS256, no other secret); seats by code name the
// token's player.
func TestIdentityHS256(t *testing.T) {
	secret := []byte("a-shared-secret-of-32-bytes-long!")
	l, base := identityLobby(t, Identity{HS256Secret: secret})
	priv, err := l.createRoom(t.Context(), l.modes["duo"], true, false, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	good := sign(t, jwt.SigningMethodHS256, secret, "", jwt.MapClaims{"sub": "zoe", "name": "Zoë", "exp": time.Now().Add(time.Minute).Unix()})
	r := call(t, "POST", base+"/v1/rooms/join-by-code", `{"code":"`+priv.Code+`"}`, bearer(good)...)
	if r.status != 200 {
		t.Fatalf("seat by code with an HS256 token: %d %v", r.status, r.body)
	}
	if c, err := l.signer.Verify(r.body["join_ticket"].(string), time.Now()); err != nil || c.Player != "zoe" || c.Name != "Zoë" {
		t.Fatalf("join ticket %+v, %v; want zoe, Zoë", c, err)
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	for name, tok := range map[string]string{
		"other secret": sign(t, jwt.SigningMethodHS256, []byte("another-secret-of-32-bytes-long!!"), "", jwt.MapClaims{"sub": "zoe", "exp": time.Now().Add(time.Minute).Unix()}),
		"RS256":        sign(t, jwt.SigningMethodRS256, rsaKey, "", jwt.MapClaims{"sub": "zoe", "exp": time.Now().Add(time.Minute).Unix()}),
	} {
		if r := call(t, "POST", base+"/v1/rooms", `{"mode":"duo"}`, bearer(tok)...); r.status != 401 || r.errCode() != "bad_token" {
			t.Errorf("%s: %d %v; want 401 bad_token", name, r.status, r.body)
		}
	}
	if _, err := New(t.Context(), Config{Identity: Identity{HS256Secret: []byte("short")}}); err == nil {
		t.Fatal("a 5-byte HS256 secret was accepted")
	}
}
