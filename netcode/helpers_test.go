package netcode

import "github.com/tickwire/tickwire/game"

func gameRules(seats int) game.Rules { return game.Rules{MaxPlayers: seats} }
