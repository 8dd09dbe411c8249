package bots

import (
	"slices"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// The test schema is the arena's with a text, a player field and a room
// field added, so every part of the wire is used: avatars (kind 1) have a
// position (bits 0 and 1), a heading (bit 2) and a tag (bit 3, a text); orbs
// (kind 2) a position; players a team; the room a round.
const (
	KindAvatar uint32 = 1
	KindOrb    uint32 = 2

	mX, mY, mHeading, mTag = uint64(1), uint64(2), uint64(4), uint64(8)

	running = tickwirev1.MatchPhase_MATCH_PHASE_RUNNING
	ended   = tickwirev1.MatchPhase_MATCH_PHASE_ENDED
)

func testWireSchema() *tickwirev1.Schema {
	pos := &tickwirev1.FieldSpec{Name: "pos", Type: tickwirev1.FieldType_FIELD_TYPE_POS2, Scale: 16}
	return &tickwirev1.Schema{
		Kinds: []*tickwirev1.EntityKind{
			{Name: "avatar", Fields: []*tickwirev1.FieldSpec{
				pos,
				{Name: "heading", Type: tickwirev1.FieldType_FIELD_TYPE_ANGLE, Bits: 8},
				{Name: "tag", Type: tickwirev1.FieldType_FIELD_TYPE_TEXT},
			}},
			{Name: "orb", Fields: []*tickwirev1.FieldSpec{pos}},
		},
		PlayerFields: []*tickwirev1.FieldSpec{{Name: "team", Type: tickwirev1.FieldType_FIELD_TYPE_ENUM, Values: []string{"red", "blue"}}},
		RoomFields:   []*tickwirev1.FieldSpec{{Name: "round", Type: tickwirev1.FieldType_FIELD_TYPE_INT}},
		InputFields: []*tickwirev1.FieldSpec{
			{Name: "dx", Type: tickwirev1.FieldType_FIELD_TYPE_INT},
			{Name: "dy", Type: tickwirev1.FieldType_FIELD_TYPE_INT},
		},
	}
}

var testSchema = func() *Schema {
	s, err := NewSchema(testWireSchema())
	if err != nil {
		panic(err)
	}
	return s
}()

func av(id uint32, x, y, heading int64, tag string) Entity {
	return Entity{ID: id, Kind: KindAvatar, Record: Record{Values: []int64{x, y, heading, 0}, Texts: []string{"", "", "", tag}}}
}

func orb(id uint32, x, y int64) Entity {
	return Entity{ID: id, Kind: KindOrb, Record: Record{Values: []int64{x, y}}}
}

func player(id uint32, name string, entity uint32, score int64, team int64) Player {
	return Player{ID: id, Name: name, EntityID: entity, Score: score, Record: Record{Values: []int64{team}}}
}

func room(round int64) Record { return Record{Values: []int64{round}} }

func zz(v int64) uint64 { return protowire.EncodeZigZag(v) }

// sum is the checksum of a state under the test schema.
func sum(s State) uint32 { return Checksum(testSchema, s.Entities, s.Players, s.Room) }

// snapshotOf encodes a state as the protocol says a server does, with its
// checksum; it is written from PROTOCOL.md, apart from the server's encoder.
func snapshotOf(s State) *tickwirev1.Snapshot {
	snap := &tickwirev1.Snapshot{
		Tick: s.Tick, Phase: s.Phase, EndTick: s.EndTick, LastInputSeq: s.LastInputSeq,
		Checksum: sum(s), Entities: entityColumns(s.Entities),
		Room: &tickwirev1.FieldValues{},
	}
	snap.Room.Values, snap.Room.Texts = row(&testSchema.Room, s.Room)
	for _, p := range s.Players {
		snap.Players = append(snap.Players, playerToWire(p))
	}
	return snap
}

func playerToWire(p Player) *tickwirev1.Player {
	w := &tickwirev1.Player{Id: p.ID, Name: p.Name, EntityId: p.EntityID, Score: p.Score}
	w.Values, w.Texts = row(&testSchema.Player, p.Record)
	return w
}

// entityColumns lists whole entities column by column.
func entityColumns(ents []Entity) *tickwirev1.EntityColumns {
	c := &tickwirev1.EntityColumns{}
	for _, e := range ents {
		c.Ids, c.Kinds = append(c.Ids, e.ID), append(c.Kinds, e.Kind)
	}
	for b := range maxBits {
		for _, e := range ents {
			sh := testSchema.kind(e.Kind)
			switch {
			case b >= sh.Bits:
			case sh.isText(b):
				c.Texts = append(c.Texts, e.Texts[b])
			default:
				c.Values = append(c.Values, fullValue(sh, b, e.Values[b]))
			}
		}
	}
	return c
}

func fullValue(sh *Shape, b int, v int64) uint64 {
	if sh.signed&(1<<b) != 0 {
		return zz(v)
	}
	return uint64(v)
}

// row is one record's full values in bit order.
func row(sh *Shape, r Record) ([]uint64, []string) {
	var vals []uint64
	var texts []string
	for b := range sh.Bits {
		if sh.isText(b) {
			texts = append(texts, r.Texts[b])
		} else {
			vals = append(vals, fullValue(sh, b, r.Values[b]))
		}
	}
	return vals, texts
}

// deltaOf encodes the change from base to cur the way the protocol says,
// entities and players both in ascending id order: what a server sends.
func deltaOf(base, cur State) *tickwirev1.Delta {
	d := &tickwirev1.Delta{Tick: cur.Tick, BaseTick: base.Tick, Checksum: sum(cur)}
	if base.Phase != cur.Phase || base.EndTick != cur.EndTick {
		d.Phase, d.EndTick = cur.Phase, cur.EndTick
	}
	var created []Entity
	var upd updates
	i, j := 0, 0
	for i < len(base.Entities) || j < len(cur.Entities) {
		switch {
		case j >= len(cur.Entities) || (i < len(base.Entities) && base.Entities[i].ID < cur.Entities[j].ID):
			d.Removed = append(d.Removed, base.Entities[i].ID)
			i++
		case i >= len(base.Entities) || cur.Entities[j].ID < base.Entities[i].ID:
			created = append(created, cur.Entities[j])
			j++
		default:
			upd.add(testSchema.kind(cur.Entities[j].Kind), cur.Entities[j].ID, base.Entities[i].Record, cur.Entities[j].Record)
			i++
			j++
		}
	}
	d.Updates = upd.wire()
	if len(created) > 0 {
		d.Created = entityColumns(created)
	}
	var pupd updates
	i, j = 0, 0
	for i < len(base.Players) || j < len(cur.Players) {
		switch {
		case j >= len(cur.Players) || (i < len(base.Players) && base.Players[i].ID < cur.Players[j].ID):
			d.PlayersLeft = append(d.PlayersLeft, base.Players[i].ID)
			i++
		case i >= len(base.Players) || cur.Players[j].ID < base.Players[i].ID:
			d.PlayersJoined = append(d.PlayersJoined, playerToWire(cur.Players[j]))
			j++
		default:
			b, c := base.Players[i], cur.Players[j]
			if b.Score != c.Score {
				d.ScorePlayers, d.Scores = append(d.ScorePlayers, c.ID), append(d.Scores, c.Score)
			}
			pupd.add(&testSchema.Player, c.ID, b.Record, c.Record)
			i++
			j++
		}
	}
	d.PlayerUpdates = pupd.wire()
	var ru updates
	ru.add(&testSchema.Room, 0, base.Room, cur.Room)
	if len(ru.masks) > 0 {
		d.Room = &tickwirev1.FieldValues{Mask: ru.masks[0]}
		for b := range maxBits {
			d.Room.Values = append(d.Room.Values, ru.vals[b]...)
			d.Room.Texts = append(d.Room.Texts, ru.texts[b]...)
		}
	}
	return d
}

// updates gathers changed records column by column.
type updates struct {
	ids, masks []uint64
	n          int // records present at both ticks
	vals       [maxBits][]uint64
	texts      [maxBits][]string
}

func (u *updates) add(sh *Shape, id uint32, b, c Record) {
	u.n++
	var m uint64
	for bit := range sh.Bits {
		switch {
		case sh.isText(bit):
			if b.Texts[bit] != c.Texts[bit] {
				m |= 1 << bit
				u.texts[bit] = append(u.texts[bit], c.Texts[bit])
			}
		case b.Values[bit] != c.Values[bit]:
			m |= 1 << bit
			w := uint64(c.Values[bit])
			if sh.signed&(1<<bit) != 0 {
				w = zz(c.Values[bit] - b.Values[bit])
			}
			u.vals[bit] = append(u.vals[bit], w)
		}
	}
	if m != 0 {
		u.ids, u.masks = append(u.ids, uint64(id)), append(u.masks, m)
	}
}

func (u *updates) wire() *tickwirev1.EntityUpdates {
	if len(u.masks) == 0 {
		return nil
	}
	w := &tickwirev1.EntityUpdates{Masks: u.masks}
	if len(u.masks) == u.n {
		w.All = true
	} else {
		var last uint64
		for _, id := range u.ids {
			w.IdGaps = append(w.IdGaps, uint32(id-last))
			last = id
		}
	}
	if slices.Min(u.masks) == slices.Max(u.masks) {
		w.Masks = u.masks[:1]
	}
	for b := range maxBits {
		w.Values = append(w.Values, u.vals[b]...)
		w.Texts = append(w.Texts, u.texts[b]...)
	}
	return w
}
