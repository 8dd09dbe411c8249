package netcode

import (
	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
)

func gameRules(seats int) game.Rules { return game.Rules{MaxPlayers: seats} }

// arenaGame makes the default game the way cmd/tickwire wires it.
func arenaGame(string) game.Game { return arena.New(arena.Config{}) }

// withArena gives a test config the arena when it names no game.
func withArena(cfg Config) Config {
	if cfg.NewGame == nil {
		cfg.NewGame = arenaGame
	}
	return cfg
}

// newSim builds a sim of g; the test games' schemas are valid.
func newSim(g game.Game, rules game.Rules, seed uint64) *game.Sim {
	s, err := game.NewSim(g, rules, seed)
	if err != nil {
		panic(err)
	}
	return s
}

// testEnv is a session's environment with cfg's defaults, for sessions
// made without a server.
func testEnv(cfg Config) *env {
	cfg = cfg.withDefaults()
	return &env{cfg: &cfg, stats: new(counters), clock: cfg.Clock}
}
