package netcode

import "github.com/tickwire/tickwire/game"

func gameRules(seats int) game.Rules { return game.Rules{MaxPlayers: seats} }

// testEnv is a session's environment with cfg's defaults, for sessions
// made without a server.
func testEnv(cfg Config) *env {
	cfg = cfg.withDefaults()
	return &env{cfg: &cfg, stats: new(counters), clock: cfg.Clock}
}
