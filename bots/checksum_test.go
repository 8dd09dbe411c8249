package bots

import (
	"encoding/hex"
	"hash/fnv"
	"strings"
	"testing"

	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// The worked example of the protocol's checksum (PROTOCOL.md, "Checksum"):
// one ship (pos, heading, label), one player with a team, a room round.
func TestChecksumWorkedExample(t *testing.T) {
	sch, err := NewSchema(&tickwirev1.Schema{
		Kinds: []*tickwirev1.EntityKind{{Name: "ship", Fields: []*tickwirev1.FieldSpec{
			{Name: "pos", Type: tickwirev1.FieldType_FIELD_TYPE_POS2, Scale: 16},
			{Name: "heading", Type: tickwirev1.FieldType_FIELD_TYPE_ANGLE, Bits: 8},
			{Name: "label", Type: tickwirev1.FieldType_FIELD_TYPE_TEXT},
		}}},
		PlayerFields: []*tickwirev1.FieldSpec{{Name: "team", Type: tickwirev1.FieldType_FIELD_TYPE_ENUM, Values: []string{"red", "blue"}}},
		RoomFields:   []*tickwirev1.FieldSpec{{Name: "round", Type: tickwirev1.FieldType_FIELD_TYPE_INT}},
	})
	if err != nil {
		t.Fatal(err)
	}
	entities := []Entity{{ID: 1, Kind: 1, Record: Record{Values: []int64{160, -16, 64, 0}, Texts: []string{"", "", "", "ab"}}}}
	players := []Player{{ID: 1, Name: "ignored", EntityID: 1, Score: 3, Record: Record{Values: []int64{1}}}}
	rm := Record{Values: []int64{2}}

	// The bytes the protocol says are hashed, checked against a reference
	// FNV-1a implementation.
	want, err := hex.DecodeString(strings.Join([]string{
		"01000000", "01000000", // entity id, kind
		"a000000000000000", "f0ffffffffffffff", "4000000000000000", // pos x, y, heading
		"02000000", "6162", // label: length, bytes
		"01000000", "0300000000000000", "0100000000000000", // player id, score, team
		"0200000000000000", // room round
	}, ""))
	if err != nil {
		t.Fatal(err)
	}
	ref := fnv.New32a()
	ref.Write(want)
	if got := ref.Sum32(); got != 0x9ff90852 {
		t.Fatalf("reference FNV-1a of the example bytes = %#08x, want 0x9ff90852", got)
	}
	if got := Checksum(sch, entities, players, rm); got != 0x9ff90852 {
		t.Errorf("Checksum(example) = %#08x, want 0x9ff90852", got)
	}
	empty, _ := NewSchema(&tickwirev1.Schema{})
	if got := Checksum(empty, nil, nil, Record{}); got != 0x811c9dc5 {
		t.Errorf("Checksum(empty) = %#08x, want 0x811c9dc5", got)
	}
}

func TestChecksumDependsOnEveryField(t *testing.T) {
	base := State{Entities: []Entity{av(1, 3, 4, 5, "t")}, Players: []Player{player(7, "p", 1, 8, 1)}, Room: room(9)}
	s0 := sum(base)
	changes := map[string]func(s *State){
		"id":      func(s *State) { s.Entities[0].ID++ },
		"kind":    func(s *State) { s.Entities[0] = orb(1, 3, 4) },
		"x":       func(s *State) { s.Entities[0].Values[0]++ },
		"y":       func(s *State) { s.Entities[0].Values[1] += 1 << 40 },
		"heading": func(s *State) { s.Entities[0].Values[2]++ },
		"tag":     func(s *State) { s.Entities[0].Texts[3] = "u" },
		"pid":     func(s *State) { s.Players[0].ID++ },
		"score":   func(s *State) { s.Players[0].Score += 1 << 40 },
		"team":    func(s *State) { s.Players[0].Values[0] = 0 },
		"round":   func(s *State) { s.Room.Values[0]++ },
	}
	for name, change := range changes {
		s := base
		s.Entities = []Entity{{ID: 1, Kind: KindAvatar, Record: base.Entities[0].clone()}}
		s.Players = []Player{base.Players[0]}
		s.Players[0].Record = base.Players[0].clone()
		s.Room = base.Room.clone()
		change(&s)
		if sum(s) == s0 {
			t.Errorf("changing %s leaves the checksum unchanged", name)
		}
	}
	// Names and entity ids of players are not part of the checksum.
	s := base
	s.Players = []Player{player(7, "x", 99, 8, 1)}
	if sum(s) != s0 {
		t.Error("player name or entity id changed the checksum")
	}
}

func TestNewSchemaRefuses(t *testing.T) {
	many := make([]*tickwirev1.FieldSpec, 22)
	for i := range many {
		many[i] = &tickwirev1.FieldSpec{Name: "p", Type: tickwirev1.FieldType_FIELD_TYPE_POS3}
	}
	for name, s := range map[string]*tickwirev1.Schema{
		"no schema":    nil,
		"unknown type": {RoomFields: []*tickwirev1.FieldSpec{{Name: "x", Type: 99}}},
		"past bit 63":  {Kinds: []*tickwirev1.EntityKind{{Name: "k", Fields: many}}},
	} {
		if _, err := NewSchema(s); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
