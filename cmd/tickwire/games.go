package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/game/arena"
	"github.com/tickwire/tickwire/game/connect4"
	"github.com/tickwire/tickwire/game/tanks"
	"github.com/tickwire/tickwire/lobby"
)

// games are the games this binary hosts, by the name a mode gives
// (--modes duel:2:1m:connect4) and bots play (tickwire bots --game).
var games = map[string]func() game.Game{
	"arena":    func() game.Game { return arena.New(arena.Config{}) },
	"tanks":    func() game.Game { return tanks.New(tanks.Config{}) },
	"connect4": func() game.Game { return connect4.New() },
}

// defaultGame is what a mode that names no game plays.
const defaultGame = "arena"

func gameNames() string {
	names := make([]string, 0, len(games))
	for n := range games {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// gameOfModes maps every mode to the game it plays, and checks that each
// named game is one this binary hosts.
func gameOfModes(modes []lobby.Mode) (map[string]string, error) {
	out := make(map[string]string, len(modes))
	for _, m := range modes {
		g := m.Game
		if g == "" {
			g = defaultGame
		}
		if games[g] == nil {
			return nil, fmt.Errorf("mode %s: unknown game %q (this server hosts %s)", m.Name, g, gameNames())
		}
		out[m.Name] = g
	}
	return out, nil
}

// openGamesFit checks that, with open rooms, no mode of --modes is named
// for a hosted game while playing another: a join to an open room may name
// any hosted game (Join.game), and its room's mode is the game's name, so
// such a mode would make that room play the wrong game.
func openGamesFit(open bool, modeGame map[string]string) error {
	if !open {
		return nil
	}
	for name := range games {
		if g, ok := modeGame[name]; ok && g != name {
			return fmt.Errorf("--modes: mode %s plays %s, but with --open-rooms an open room of game %s has mode %s too; rename the mode or let it play %s", name, g, name, name, name)
		}
	}
	return nil
}

// newGameFor returns netcode's NewGame: a room of a mode plays the mode's
// game; a room of a mode no --modes entry names (an open room's) plays the
// game of that name when there is one (--open-game), else the default.
func newGameFor(modeGame map[string]string) func(mode string) game.Game {
	return func(mode string) game.Game {
		name, ok := modeGame[mode]
		if !ok {
			name = mode
		}
		if f := games[name]; f != nil {
			return f()
		}
		return games[defaultGame]()
	}
}
