package bots

import (
	"encoding/hex"
	"hash/fnv"
	"testing"
)

// The worked example of the protocol's checksum: one entity and one player.
func TestChecksumWorkedExample(t *testing.T) {
	entities := []Entity{{ID: 1, Kind: 2, X: 160, Y: -16, Angle: 64, Value: 0}}
	players := []Player{{ID: 1, Name: "ignored", EntityID: 1, Score: 3}}

	// The bytes the protocol says are hashed, checked against a reference
	// FNV-1a implementation.
	want, err := hex.DecodeString("0100000002000000a0000000f0ffffff4000000000000000010000000300000000000000")
	if err != nil {
		t.Fatal(err)
	}
	ref := fnv.New32a()
	ref.Write(want)
	if got := ref.Sum32(); got != 0xf81c71d7 {
		t.Fatalf("reference FNV-1a of the example bytes = %#08x, want 0xf81c71d7", got)
	}

	if got := Checksum(entities, players); got != 0xf81c71d7 {
		t.Errorf("Checksum(example) = %#08x, want 0xf81c71d7", got)
	}
	if got := Checksum(nil, nil); got != 0x811c9dc5 {
		t.Errorf("Checksum(empty) = %#08x, want 0x811c9dc5", got)
	}
}

func TestChecksumDependsOnEveryField(t *testing.T) {
	base := []Entity{{ID: 1, Kind: 2, X: 3, Y: 4, Angle: 5, Value: 6}}
	players := []Player{{ID: 7, Score: 8}}
	sum := Checksum(base, players)
	changes := map[string]func(e *Entity, p *Player){
		"id":    func(e *Entity, _ *Player) { e.ID++ },
		"kind":  func(e *Entity, _ *Player) { e.Kind++ },
		"x":     func(e *Entity, _ *Player) { e.X++ },
		"y":     func(e *Entity, _ *Player) { e.Y++ },
		"angle": func(e *Entity, _ *Player) { e.Angle++ },
		"value": func(e *Entity, _ *Player) { e.Value++ },
		"pid":   func(_ *Entity, p *Player) { p.ID++ },
		"score": func(_ *Entity, p *Player) { p.Score += 1 << 40 },
	}
	for name, change := range changes {
		e, p := base[0], players[0]
		change(&e, &p)
		if Checksum([]Entity{e}, []Player{p}) == sum {
			t.Errorf("changing %s leaves the checksum unchanged", name)
		}
	}
	// Names and entity ids of players are not part of the checksum.
	p := players[0]
	p.Name, p.EntityID = "x", 99
	if Checksum(base, []Player{p}) != sum {
		t.Error("player name or entity id changed the checksum")
	}
}
