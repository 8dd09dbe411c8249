package lobby

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// Identity switches on verified player identity: the lobby then takes the
// player a call acts for from a bearer JWT that the game's own auth service
// issued, not from what the caller says. Its zero value leaves it off: the
// lobby trusts its caller's player_id, which suits a trusted backend that
// calls the lobby for its players, never players' own clients.
//
// With it on, each call a player makes (a matchmaking ticket, a party
// consent, a room, a seat in a room or by code) needs "Authorization:
// Bearer <JWT>": the JWT's sub is the player id (the body's player_id may
// be left out, and must equal sub if given: else 403 wrong_player), and the
// display name comes from the NameClaim claim if present, else from the
// body. A party's other members are named by the leader, but each brings a
// consent it asked for with its own token. The API key (Config.APIKey) is a bearer token
// too: a bearer equal to it (compared in constant time, first) marks the
// trusted backend, which may act for any player and is not rate limited;
// any other bearer is read as a JWT. Privileged calls (score submissions,
// board changes) take the API key only, never a player's JWT.
type Identity struct {
	// HS256Secret verifies HS256 tokens (at least 32 bytes, shared with the
	// auth service).
	HS256Secret []byte
	// JWKSURL is where the auth service publishes its public keys (a JWK
	// Set); RS256 and ES256 tokens are verified against them, found by the
	// token's kid. https, or http for a loopback host. The set is fetched
	// at start, refreshed every JWKSRefresh and, at most every 30 s, when a
	// token names an unknown kid (a key rotation).
	JWKSURL     string
	JWKSRefresh time.Duration // default 1h
	// Issuer and Audience, if set, must match the token's iss and aud.
	Issuer   string
	Audience string
	// NameClaim is the claim holding the display name. Default "name".
	NameClaim string
	// Leeway is the clock skew allowed on exp, nbf and iat. Default 30s.
	Leeway time.Duration
	// HTTPClient fetches the JWK Set. Default: one with a 10 s timeout.
	HTTPClient *http.Client
}

// on reports whether identity is switched on.
func (id *Identity) on() bool { return len(id.HS256Secret) > 0 || id.JWKSURL != "" }

func (id *Identity) fill() error {
	if !id.on() {
		return nil
	}
	if id.NameClaim == "" {
		id.NameClaim = "name"
	}
	if id.Leeway == 0 {
		id.Leeway = 30 * time.Second
	}
	if id.JWKSRefresh <= 0 {
		id.JWKSRefresh = time.Hour
	}
	if n := len(id.HS256Secret); n > 0 && n < 32 {
		return fmt.Errorf("HS256 secret is %d bytes; at least 32 are needed", n)
	}
	if id.Leeway < 0 || id.Leeway > 10*time.Minute {
		return fmt.Errorf("leeway %v: want 0 to 10m", id.Leeway)
	}
	if id.JWKSURL != "" {
		u, err := url.Parse(id.JWKSURL)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname()))) {
			return fmt.Errorf("JWKS URL %q: want https://host/path (http only for a loopback host)", id.JWKSURL)
		}
	}
	return nil
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// verifier checks players' JWTs.
type verifier struct {
	cfg     Identity
	methods []string
	jwks    keyfunc.Keyfunc // nil without JWKSURL
	stop    context.CancelFunc
}

// newVerifier starts the JWK Set's refresh, if there is one; stop ends it.
func newVerifier(id Identity, log zerolog.Logger) (*verifier, error) {
	v := &verifier{cfg: id, stop: func() {}}
	if len(id.HS256Secret) > 0 {
		v.methods = append(v.methods, "HS256")
	}
	if id.JWKSURL == "" {
		return v, nil
	}
	v.methods = append(v.methods, "RS256", "ES256")
	client := id.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	ctx, cancel := context.WithCancel(context.Background())
	k, err := keyfunc.NewDefaultOverrideCtx(ctx, []string{id.JWKSURL}, keyfunc.Override{
		Client:          client,
		RefreshInterval: id.JWKSRefresh,
		// A token with an unknown kid refreshes the set, at most this often,
		// and a request waits at most a second for that.
		RefreshUnknownKID: rate.NewLimiter(rate.Every(30*time.Second), 1),
		RateLimitWaitMax:  time.Second,
		RefreshErrorHandlerFunc: func(u string) func(context.Context, error) {
			return func(_ context.Context, err error) {
				log.Warn().Err(err).Str("url", u).Msg("fetching the auth service's JWK Set failed; keeping the keys already known")
			}
		},
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("JWK Set %s: %w", id.JWKSURL, err)
	}
	v.jwks, v.stop = k, cancel
	return v, nil
}

// player is who a verified token says the caller is.
type player struct {
	id, name string
}

// errBadToken wraps every reason a JWT is refused.
var errBadToken = errors.New("bearer token refused")

// verify parses and checks a JWT: its algorithm is one configured, its
// signature, exp (required), nbf, iss and aud as configured; sub is a valid
// player id.
func (v *verifier) verify(ctx context.Context, token string, now time.Time) (player, error) {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods(v.methods), jwt.WithExpirationRequired(), jwt.WithLeeway(v.cfg.Leeway),
		jwt.WithTimeFunc(func() time.Time { return now }),
	}
	if v.cfg.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(v.cfg.Issuer))
	}
	if v.cfg.Audience != "" {
		opts = append(opts, jwt.WithAudience(v.cfg.Audience))
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
		switch t.Method.Alg() {
		case "HS256":
			return v.cfg.HS256Secret, nil
		default: // RS256 or ES256: WithValidMethods let nothing else through
			return v.jwks.KeyfuncCtx(ctx)(t)
		}
	}, opts...)
	if err != nil {
		return player{}, fmt.Errorf("%w: %w", errBadToken, err)
	}
	sub, _ := claims.GetSubject()
	if !playerIDPattern.MatchString(sub) || sub == "." || sub == ".." {
		return player{}, fmt.Errorf("%w: sub %q is not a player id (1 to 128 of A-Z a-z 0-9 . _ : @ -)", errBadToken, sub)
	}
	p := player{id: sub}
	p.name, _ = claims[v.cfg.NameClaim].(string)
	return p, nil
}

// caller is who is calling: the trusted backend (the API key), a verified
// player, or, with identity off, anyone (trusted as a backend is).
type caller struct {
	backend bool
	player  *player // set for a verified player
}

// caller works out who r comes from. With identity on, a call without a
// bearer (or the API key) is refused with 401 token_required, and a bad
// token with 401 bad_token.
func (l *Lobby) caller(r *http.Request) (caller, error) {
	if l.backend(r) {
		return caller{backend: true}, nil
	}
	tok, hasBearer := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if l.verifier == nil {
		return caller{}, nil
	}
	if !hasBearer || tok == "" {
		return caller{}, errf(http.StatusUnauthorized, "token_required", "this lobby verifies players: send 'Authorization: Bearer <token from the game's auth service>'")
	}
	p, err := l.verifier.verify(r.Context(), tok, l.now())
	if err != nil {
		return caller{}, errf(http.StatusUnauthorized, "bad_token", "%v", err)
	}
	return caller{player: &p}, nil
}

// backend reports whether r carries the API key as its bearer: the trusted
// backend.
func (l *Lobby) backend(r *http.Request) bool {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && l.cfg.APIKey != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(l.cfg.APIKey)) == 1
}

// actFor checks that a call from c may act for the member m, and fills in a
// verified player's id and name: with identity on, a player acts for itself
// only.
func (c caller) actFor(m *memberJSON) error {
	if c.player == nil {
		return nil
	}
	if m.PlayerID != "" && m.PlayerID != c.player.id {
		return errf(http.StatusForbidden, "wrong_player", "your token is for player %q; a call may not name player %q", c.player.id, m.PlayerID)
	}
	m.PlayerID = c.player.id
	if c.player.name != "" {
		m.Name = c.player.name
	}
	return nil
}
