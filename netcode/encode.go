package netcode

import (
	"math/bits"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/game"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// encoder turns states into ServerFrame bytes by the room's schema. It reuses
// its messages, columns and buffer, so encoding a delta in steady state
// allocates nothing. Owned by one goroutine.
type encoder struct {
	codec    *codec
	frame    pb.ServerFrame
	body     pb.ServerFrame_Delta
	delta    pb.Delta
	updates  pb.EntityUpdates
	created  pb.EntityColumns
	pupdates pb.EntityUpdates
	room     pb.FieldValues
	cols     columns // changed values of updated entities, then of players
	newCols  columns // values of created entities
	buf      []byte
	wire     deltaWire
	opts     proto.MarshalOptions
}

func newEncoder(c *codec) *encoder {
	e := &encoder{codec: c}
	e.body.Delta = &e.delta
	e.frame.Body = &e.body
	e.opts = proto.MarshalOptions{UseCachedSize: false}
	return e
}

// columns gathers values by mask bit, so that a list goes on the wire column
// by column: every value of bit 0, then every value of bit 1, and so on.
type columns struct {
	vals  [game.MaxBits][]uint64
	texts [game.MaxBits][]string
	used  uint64 // bits with values queued
}

// changes queues the changed components of one record and returns its mask.
// Hot path: once per entity per tick. A record's numbers are stored in the
// order of its numeric bits (nums[k] is at slot k), so they are compared in
// one sequential sweep.
func (cs *columns) changes(s *shape, bv, cv []int64, bt, ct []string) uint64 {
	var m uint64
	bv = bv[:len(s.nums)]
	cv = cv[:len(bv)]
	for k, b := range bv {
		c := cv[k]
		if b == c {
			continue
		}
		n := &s.nums[k]
		w := uint64(c)
		if n.signed {
			w = protowire.EncodeZigZag(c - b)
		}
		m |= n.mask
		col := &cs.vals[n.bit]
		*col = append(*col, w)
	}
	for i := range s.texts {
		t := &s.texts[i]
		if bt[t.slot] != ct[t.slot] {
			m |= 1 << t.bit
			cs.texts[t.bit] = append(cs.texts[t.bit], ct[t.slot])
		}
	}
	cs.used |= m
	return m
}

// record queues every component of one record, as full values.
func (cs *columns) record(s *shape, v []int64, t []string) {
	for i := range s.bits {
		c := &s.bits[i]
		if c.text {
			cs.texts[i] = append(cs.texts[i], t[c.slot])
		} else {
			cs.vals[i] = append(cs.vals[i], c.full(v[c.slot]))
		}
	}
	cs.used |= s.all
}

// flush appends the queued columns in bit order and empties them.
func (cs *columns) flush(vals []uint64, texts []string) ([]uint64, []string) {
	for u := cs.used; u != 0; u &= u - 1 {
		b := bits.TrailingZeros64(u)
		vals, texts = append(vals, cs.vals[b]...), append(texts, cs.texts[b]...)
		cs.vals[b], cs.texts[b] = cs.vals[b][:0], cs.texts[b][:0]
	}
	cs.used = 0
	return vals, texts
}

// updateList builds an EntityUpdates' ids and masks: delta-coded ids, all
// when every remaining record changed, one mask when every mask is the same.
type updateList struct {
	u         *pb.EntityUpdates
	last      uint32
	same      bool
	remaining int
}

func (l *updateList) reset(u *pb.EntityUpdates) {
	*l = updateList{u: u, same: true}
	u.IdGaps, u.All, u.Masks = u.IdGaps[:0], false, u.Masks[:0]
	u.Values, u.Texts = u.Values[:0], u.Texts[:0]
}

// matched records a record present at both ticks, changed by mask m.
func (l *updateList) matched(id uint32, m uint64) {
	l.remaining++
	if m == 0 {
		return
	}
	u := l.u
	u.IdGaps = append(u.IdGaps, id-l.last)
	l.last = id
	if len(u.Masks) > 0 && u.Masks[0] != m {
		l.same = false
	}
	u.Masks = append(u.Masks, m)
}

// finish moves the columns into the updates and returns them, or nil when
// nothing changed.
func (l *updateList) finish(cs *columns) *pb.EntityUpdates {
	u := l.u
	u.Values, u.Texts = cs.flush(u.Values, u.Texts)
	if len(u.Masks) == 0 {
		return nil
	}
	if len(u.Masks) == l.remaining {
		u.All, u.IdGaps = true, u.IdGaps[:0]
	}
	if l.same && len(u.Masks) > 1 {
		u.Masks = u.Masks[:1]
	}
	return u
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
	d.Updates, d.Created = e.diffEntities(base, cur)
	d.PlayerUpdates = e.diffPlayers(base, cur)
	d.Room = nil
	r := &e.room
	r.Values, r.Texts, r.Mask = e.codec.room.appendChanges(r.Values[:0], r.Texts[:0], base.room, cur.room, base.roomTexts, cur.roomTexts)
	if r.Mask != 0 {
		d.Room = r
	}
	var ok bool
	if e.buf, ok = e.wire.appendDeltaFrame(e.buf[:0], d); ok {
		return e.buf
	}
	var err error
	e.buf, err = e.opts.MarshalAppend(e.buf[:0], &e.frame)
	if err != nil {
		panic("netcode: marshal delta: " + err.Error()) // only on a schema bug
	}
	return e.buf
}

// diffEntities merges the two ID-ordered entity lists into removed, updates and
// created.
func (e *encoder) diffEntities(base, cur *roomState) (*pb.EntityUpdates, *pb.EntityColumns) {
	d, c := &e.delta, &e.created
	var l updateList
	l.reset(&e.updates)
	c.Ids, c.Kinds, c.Values, c.Texts = c.Ids[:0], c.Kinds[:0], c.Values[:0], c.Texts[:0]
	bs, cs := base.entities, cur.entities
	i, j := 0, 0
	for i < len(bs) || j < len(cs) {
		switch {
		case j >= len(cs) || (i < len(bs) && bs[i].id < cs[j].id):
			d.Removed = append(d.Removed, uint32(bs[i].id))
			i++
		case i >= len(bs) || cs[j].id < bs[i].id:
			n := &cs[j]
			c.Ids, c.Kinds = append(c.Ids, uint32(n.id)), append(c.Kinds, n.kind)
			v, t := cur.entityValues(n)
			e.newCols.record(&e.codec.kinds[n.kind-1], v, t)
			j++
		default:
			b, c := &bs[i], &cs[j]
			l.matched(uint32(c.id), e.cols.changes(&e.codec.kinds[c.kind-1], base.vals[b.off:], cur.vals[c.off:], base.texts[b.toff:], cur.texts[c.toff:]))
			i++
			j++
		}
	}
	u := l.finish(&e.cols)
	c.Values, c.Texts = e.newCols.flush(c.Values, c.Texts)
	if len(c.Ids) == 0 {
		return u, nil
	}
	return u, c
}

// diffPlayers fills joined, left, score, ack and player field changes.
func (e *encoder) diffPlayers(base, cur *roomState) *pb.EntityUpdates {
	d := &e.delta
	d.PlayersJoined, d.PlayersLeft = d.PlayersJoined[:0], d.PlayersLeft[:0]
	d.ScorePlayers, d.Scores = d.ScorePlayers[:0], d.Scores[:0]
	d.AckPlayers, d.AckSeqs = d.AckPlayers[:0], d.AckSeqs[:0]
	var l updateList
	l.reset(&e.pupdates)
	bp, cp := base.players, cur.players
	i, j := 0, 0
	for i < len(bp) || j < len(cp) {
		switch {
		case j >= len(cp) || (i < len(bp) && bp[i].id < cp[j].id):
			d.PlayersLeft = append(d.PlayersLeft, uint32(bp[i].id))
			i++
		case i >= len(bp) || cp[j].id < bp[i].id:
			p := &cp[j]
			d.PlayersJoined = append(d.PlayersJoined, e.codec.playerToWire(cur, p))
			if p.lastSeq != 0 {
				d.AckPlayers, d.AckSeqs = append(d.AckPlayers, uint32(p.id)), append(d.AckSeqs, p.lastSeq)
			}
			j++
		default:
			b, c := &bp[i], &cp[j]
			if b.score != c.score {
				d.ScorePlayers, d.Scores = append(d.ScorePlayers, uint32(c.id)), append(d.Scores, c.score)
			}
			if b.lastSeq != c.lastSeq {
				d.AckPlayers, d.AckSeqs = append(d.AckPlayers, uint32(c.id)), append(d.AckSeqs, c.lastSeq)
			}
			if len(e.codec.player.bits) > 0 {
				bv, bt := base.playerValues(b)
				cv, ct := cur.playerValues(c)
				l.matched(uint32(c.id), e.cols.changes(&e.codec.player, bv, cv, bt, ct))
			}
			i++
			j++
		}
	}
	return l.finish(&e.cols)
}

// snapshot builds the full state for one player. It allocates: it is sent on join
// and on resync only.
func (c *codec) snapshot(s *roomState, player game.PlayerID) *pb.Snapshot {
	snap := &pb.Snapshot{
		Tick:     s.tick,
		Phase:    phaseToWire(s.phase),
		EndTick:  s.endTick,
		Entities: &pb.EntityColumns{Ids: make([]uint32, len(s.entities)), Kinds: make([]uint32, len(s.entities))},
		Room:     &pb.FieldValues{},
		Players:  make([]*pb.Player, len(s.players)),
		Checksum: s.checksum,
	}
	cols := new(columns)
	for i := range s.entities {
		en := &s.entities[i]
		snap.Entities.Ids[i], snap.Entities.Kinds[i] = uint32(en.id), en.kind
		v, t := s.entityValues(en)
		cols.record(&c.kinds[en.kind-1], v, t)
	}
	snap.Entities.Values, snap.Entities.Texts = cols.flush(nil, nil)
	snap.Room.Values, snap.Room.Texts = c.room.appendRecord(nil, nil, s.room, s.roomTexts)
	for i := range s.players {
		snap.Players[i] = c.playerToWire(s, &s.players[i])
	}
	if p := s.player(player); p != nil {
		snap.LastInputSeq = p.lastSeq
	}
	return snap
}

func (c *codec) playerToWire(s *roomState, p *playerState) *pb.Player {
	w := &pb.Player{Id: uint32(p.id), Name: p.name, EntityId: uint32(p.entity), Score: p.score}
	v, t := s.playerValues(p)
	w.Values, w.Texts = c.player.appendRecord(nil, nil, v, t)
	return w
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
