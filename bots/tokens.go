package bots

import (
	"errors"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// TokenConfig says how [HS256Tokens] mints tokens: as the game's auth service
// would for a lobby started with --auth-hs256-secret (and --auth-issuer,
// --auth-audience when it checks them).
type TokenConfig struct {
	// Secret is the HS256 secret the lobby verifies with (32 bytes or more).
	Secret []byte
	// Issuer and Audience, if set, go into iss and aud.
	Issuer, Audience string
	// TTL is how long a token is valid. Default 1 hour; a token is minted
	// again when less than half of it is left.
	TTL time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// HS256Tokens returns a function for [Lobby.SetTokens] that gives each
// player a signed JWT whose sub is the player id (and "bots" for calls that
// name no player), kept and reused while it is fresh. Safe for concurrent
// use.
func HS256Tokens(cfg TokenConfig) (func(player string) (string, error), error) {
	if len(cfg.Secret) < 32 {
		return nil, errors.New("bots: an HS256 secret needs at least 32 bytes")
	}
	if cfg.TTL <= 0 {
		cfg.TTL = time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	type minted struct {
		token string
		renew time.Time
	}
	var mu sync.Mutex            // guards cache
	cache := map[string]minted{} // one per player: as many as the run has bots
	return func(player string) (string, error) {
		if player == "" {
			player = "bots"
		}
		now := cfg.Now()
		mu.Lock()
		defer mu.Unlock()
		if m, ok := cache[player]; ok && now.Before(m.renew) {
			return m.token, nil
		}
		claims := jwt.MapClaims{"sub": player, "iat": now.Unix(), "exp": now.Add(cfg.TTL).Unix()}
		if cfg.Issuer != "" {
			claims["iss"] = cfg.Issuer
		}
		if cfg.Audience != "" {
			claims["aud"] = cfg.Audience
		}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(cfg.Secret)
		if err != nil {
			return "", err
		}
		cache[player] = minted{token: tok, renew: now.Add(cfg.TTL / 2)}
		return tok, nil
	}, nil
}
