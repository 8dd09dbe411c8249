package netcode

import (
	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/game"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// encoder turns states into ServerFrame bytes. It reuses its messages and buffer,
// so encoding a delta in steady state allocates nothing. Owned by one goroutine.
type encoder struct {
	frame   pb.ServerFrame
	body    pb.ServerFrame_Delta
	delta   pb.Delta
	updates pb.EntityUpdates
	created pb.EntityColumns
	buf     []byte
	opts    proto.MarshalOptions
}

func newEncoder() *encoder {
	e := &encoder{}
	e.body.Delta = &e.delta
	e.frame.Body = &e.body
	e.opts = proto.MarshalOptions{UseCachedSize: false}
	return e
}

// encodeDelta encodes the change from base to cur. Hot path: once per room per tick.
// The result is valid until the next call.
func (e *encoder) encodeDelta(base, cur *roomState) []byte {
	d := &e.delta
	d.Tick, d.BaseTick, d.Checksum = cur.tick, base.tick, cur.checksum
	d.Phase, d.EndTick = pb.MatchPhase_MATCH_PHASE_UNSPECIFIED, 0
	if base.phase != cur.phase || base.endTick != cur.endTick {
		d.Phase, d.EndTick = phaseToWire(cur.phase), cur.endTick
	}
	d.Removed = d.Removed[:0]
	e.diffEntities(base.entities, cur.entities)
	d.Updates, d.Created = nil, nil
	if len(e.updates.Masks) > 0 {
		d.Updates = &e.updates
	}
	if len(e.created.Ids) > 0 {
		d.Created = &e.created
	}
	e.diffPlayers(base.players, cur.players)
	var err error
	e.buf, err = e.opts.MarshalAppend(e.buf[:0], &e.frame)
	if err != nil {
		panic("netcode: marshal delta: " + err.Error()) // only on a schema bug
	}
	return e.buf
}

// diffEntities merges the two ID-ordered entity lists into removed, updates and
// created.
func (e *encoder) diffEntities(base, cur []game.Entity) {
	d, u, c := &e.delta, &e.updates, &e.created
	u.IdGaps, u.All, u.Masks = u.IdGaps[:0], false, u.Masks[:0]
	u.Dx, u.Dy, u.Angle, u.Kinds, u.Value = u.Dx[:0], u.Dy[:0], u.Angle[:0], u.Kinds[:0], u.Value[:0]
	c.Ids, c.Kinds, c.X, c.Y, c.Angle, c.Value = c.Ids[:0], c.Kinds[:0], c.X[:0], c.Y[:0], c.Angle[:0], c.Value[:0]
	remaining := 0
	var lastID game.EntityID
	sameMask := true
	i, j := 0, 0
	for i < len(base) || j < len(cur) {
		switch {
		case j >= len(cur) || (i < len(base) && base[i].ID < cur[j].ID):
			d.Removed = append(d.Removed, uint32(base[i].ID))
			i++
		case i >= len(base) || cur[j].ID < base[i].ID:
			n := &cur[j]
			c.Ids = append(c.Ids, uint32(n.ID))
			c.Kinds = append(c.Kinds, n.Kind)
			c.X, c.Y = append(c.X, n.X), append(c.Y, n.Y)
			c.Angle, c.Value = append(c.Angle, uint32(n.Angle)), append(c.Value, n.Value)
			j++
		default:
			remaining++
			if m := e.appendUpdate(&base[i], &cur[j]); m != 0 {
				u.IdGaps = append(u.IdGaps, uint32(cur[j].ID-lastID))
				lastID = cur[j].ID
				if len(u.Masks) > 0 && u.Masks[0] != m {
					sameMask = false
				}
				u.Masks = append(u.Masks, m)
			}
			i++
			j++
		}
	}
	if len(u.Masks) == remaining && remaining > 0 {
		u.All, u.IdGaps = true, u.IdGaps[:0]
	}
	if sameMask && len(u.Masks) > 1 {
		u.Masks = u.Masks[:1]
	}
}

// appendUpdate appends the changed fields of one entity and returns its mask.
func (e *encoder) appendUpdate(b, c *game.Entity) uint32 {
	u := &e.updates
	var m uint32
	if c.X != b.X {
		m |= uint32(pb.FieldMask_FIELD_MASK_X)
		u.Dx = append(u.Dx, c.X-b.X)
	}
	if c.Y != b.Y {
		m |= uint32(pb.FieldMask_FIELD_MASK_Y)
		u.Dy = append(u.Dy, c.Y-b.Y)
	}
	if c.Angle != b.Angle {
		m |= uint32(pb.FieldMask_FIELD_MASK_ANGLE)
		u.Angle = append(u.Angle, uint32(c.Angle))
	}
	if c.Kind != b.Kind {
		m |= uint32(pb.FieldMask_FIELD_MASK_KIND)
		u.Kinds = append(u.Kinds, c.Kind)
	}
	if c.Value != b.Value {
		m |= uint32(pb.FieldMask_FIELD_MASK_VALUE)
		u.Value = append(u.Value, c.Value)
	}
	return m
}

// diffPlayers fills joined, left, score and ack changes.
func (e *encoder) diffPlayers(base, cur []playerState) {
	d := &e.delta
	d.PlayersJoined, d.PlayersLeft = d.PlayersJoined[:0], d.PlayersLeft[:0]
	d.ScorePlayers, d.Scores = d.ScorePlayers[:0], d.Scores[:0]
	d.AckPlayers, d.AckSeqs = d.AckPlayers[:0], d.AckSeqs[:0]
	i, j := 0, 0
	for i < len(base) || j < len(cur) {
		switch {
		case j >= len(cur) || (i < len(base) && base[i].id < cur[j].id):
			d.PlayersLeft = append(d.PlayersLeft, uint32(base[i].id))
			i++
		case i >= len(base) || cur[j].id < base[i].id:
			p := &cur[j]
			d.PlayersJoined = append(d.PlayersJoined, playerToWire(p))
			if p.lastSeq != 0 {
				d.AckPlayers, d.AckSeqs = append(d.AckPlayers, uint32(p.id)), append(d.AckSeqs, p.lastSeq)
			}
			j++
		default:
			b, c := &base[i], &cur[j]
			if b.score != c.score {
				d.ScorePlayers, d.Scores = append(d.ScorePlayers, uint32(c.id)), append(d.Scores, c.score)
			}
			if b.lastSeq != c.lastSeq {
				d.AckPlayers, d.AckSeqs = append(d.AckPlayers, uint32(c.id)), append(d.AckSeqs, c.lastSeq)
			}
			i++
			j++
		}
	}
}

// snapshot builds the full state for one player. It allocates: it is sent on join
// and on resync only.
func snapshot(s *roomState, player game.PlayerID) *pb.Snapshot {
	n := len(s.entities)
	snap := &pb.Snapshot{
		Tick:      s.tick,
		Phase:     phaseToWire(s.phase),
		EndTick:   s.endTick,
		EntityIds: make([]uint32, n),
		Kinds:     make([]uint32, n),
		X:         make([]int32, n),
		Y:         make([]int32, n),
		Angle:     make([]uint32, n),
		Value:     make([]int32, n),
		Players:   make([]*pb.Player, len(s.players)),
		Checksum:  s.checksum,
	}
	for i := range s.entities {
		en := &s.entities[i]
		snap.EntityIds[i], snap.Kinds[i] = uint32(en.ID), en.Kind
		snap.X[i], snap.Y[i] = en.X, en.Y
		snap.Angle[i], snap.Value[i] = uint32(en.Angle), en.Value
	}
	for i := range s.players {
		snap.Players[i] = playerToWire(&s.players[i])
	}
	if p := s.player(player); p != nil {
		snap.LastInputSeq = p.lastSeq
	}
	return snap
}

func playerToWire(p *playerState) *pb.Player {
	return &pb.Player{Id: uint32(p.id), Name: p.name, EntityId: uint32(p.entity), Score: p.score}
}

func phaseToWire(p game.Phase) pb.MatchPhase {
	switch p {
	case game.PhaseWaiting:
		return pb.MatchPhase_MATCH_PHASE_WAITING
	case game.PhaseRunning:
		return pb.MatchPhase_MATCH_PHASE_RUNNING
	case game.PhaseEnded:
		return pb.MatchPhase_MATCH_PHASE_ENDED
	}
	return pb.MatchPhase_MATCH_PHASE_UNSPECIFIED
}

func marshal(f *pb.ServerFrame) []byte {
	b, err := proto.Marshal(f)
	if err != nil {
		panic("netcode: marshal frame: " + err.Error()) // only on a schema bug
	}
	return b
}
