package bots

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// Errors a [Mirror] reports when a frame cannot be applied. Every one of them
// means the mirror no longer matches the server: a [Client] counts it as a
// desync and asks for a snapshot. Compare with errors.Is.
var (
	// ErrNotSynced: the mirror has no baseline (no snapshot yet, or a previous
	// frame failed), so a delta cannot be applied until the next snapshot.
	ErrNotSynced = errors.New("mirror not synced")
	// ErrBaseTick: the delta is relative to a tick the mirror is not at.
	ErrBaseTick = errors.New("delta base tick is not the mirror's tick")
	// ErrMalformed: the frame contradicts itself or the mirror (a column too
	// short or too long, an unknown id, a duplicate create, ...).
	ErrMalformed = errors.New("malformed frame")
	// ErrChecksum: the frame applied cleanly but the resulting state's checksum
	// differs from the one the server sent.
	ErrChecksum = errors.New("checksum mismatch")
)

// Entity is one entity as the wire describes it. Positions are in 1/16 of a
// world unit and angles in 1/256 of a turn, exactly as the server sends them.
type Entity struct {
	ID    uint32 `json:"id"`
	Kind  uint32 `json:"kind"`
	X     int32  `json:"x"`
	Y     int32  `json:"y"`
	Angle uint32 `json:"angle"`
	Value int32  `json:"value"`
}

// Player is one seat in a room as the wire describes it.
type Player struct {
	ID       uint32 `json:"id"`
	Name     string `json:"name"`
	EntityID uint32 `json:"entity_id"`
	Score    int64  `json:"score"`
}

// Entity kinds of the reference arena game.
const (
	KindAvatar uint32 = 1 // a player's avatar
	KindOrb    uint32 = 2 // a wandering pickup
)

// State is a copy of a mirror's state at one tick, detached from the mirror:
// a test can keep it and compare it with the server's world.
type State struct {
	Tick     uint64                `json:"tick"`
	Phase    tickwirev1.MatchPhase `json:"phase"`
	EndTick  uint64                `json:"end_tick"`
	Checksum uint32                `json:"checksum"`
	// LastInputSeq is the last input seq the server acknowledged for this
	// client's own player.
	LastInputSeq uint32 `json:"last_input_seq"`
	// Entities and Players are in ascending id order.
	Entities []Entity `json:"entities"`
	Players  []Player `json:"players"`
}

// allFields holds every FieldMask bit this client knows how to consume.
const allFields = uint32(tickwirev1.FieldMask_FIELD_MASK_X | tickwirev1.FieldMask_FIELD_MASK_Y |
	tickwirev1.FieldMask_FIELD_MASK_ANGLE | tickwirev1.FieldMask_FIELD_MASK_KIND |
	tickwirev1.FieldMask_FIELD_MASK_VALUE)

// Mirror is a client's copy of a room's state, rebuilt from snapshots and
// deltas exactly as the protocol describes, and verified against the server's
// checksum after every frame.
//
// The zero value is an empty mirror that is not synced: it accepts a snapshot
// first. A Mirror is not safe for concurrent use; a [Client] guards its own.
// After a failed Apply the state is undefined (Synced reports false) until the
// next successful ApplySnapshot.
type Mirror struct {
	tick         uint64
	endTick      uint64
	phase        tickwirev1.MatchPhase
	entities     []Entity // ascending ID
	players      []Player // ascending ID
	checksum     uint32
	lastInputSeq uint32
	synced       bool

	hasSelf  bool
	playerID uint32
	entityID uint32
}

// SetSelf tells the mirror which player is this client's own, so that it can
// track that player's acknowledged input seq and avatar. A [Client] calls it on
// Welcome.
func (m *Mirror) SetSelf(playerID, entityID uint32) {
	m.hasSelf, m.playerID, m.entityID = true, playerID, entityID
}

// Synced reports whether the mirror holds verified state that the next delta
// can be applied to.
func (m *Mirror) Synced() bool { return m.synced }

// Tick is the tick of the state the mirror holds.
func (m *Mirror) Tick() uint64 { return m.tick }

// Phase is the match phase.
func (m *Mirror) Phase() tickwirev1.MatchPhase { return m.phase }

// EndTick is the tick at which the running phase ends by time, or 0.
func (m *Mirror) EndTick() uint64 { return m.endTick }

// Checksum is the checksum of the state as last computed, after the last
// applied frame.
func (m *Mirror) Checksum() uint32 { return m.checksum }

// LastInputSeq is the last input seq the server acknowledged for this client's
// own player.
func (m *Mirror) LastInputSeq() uint32 { return m.lastInputSeq }

// PlayerID is this client's own player id, as given to SetSelf.
func (m *Mirror) PlayerID() uint32 { return m.playerID }

// EntityID is the entity this client's player controls: the one its player
// record names, or the one given to SetSelf if the record is missing.
func (m *Mirror) EntityID() uint32 {
	if p, ok := m.Player(m.playerID); ok && m.hasSelf && p.EntityID != 0 {
		return p.EntityID
	}
	return m.entityID
}

// Entities returns the entities in ascending id order. The slice belongs to
// the mirror: callers must not modify it or keep it past the next Apply.
func (m *Mirror) Entities() []Entity { return m.entities }

// Players returns the players in ascending id order, under the same terms as
// Entities.
func (m *Mirror) Players() []Player { return m.players }

// Entity returns the entity with the given id.
func (m *Mirror) Entity(id uint32) (Entity, bool) {
	if i, ok := m.findEntity(id); ok {
		return m.entities[i], true
	}
	return Entity{}, false
}

// Player returns the player with the given id.
func (m *Mirror) Player(id uint32) (Player, bool) {
	if i, ok := m.findPlayer(id); ok {
		return m.players[i], true
	}
	return Player{}, false
}

// State returns a copy of the mirror's state.
func (m *Mirror) State() State {
	return State{
		Tick:         m.tick,
		Phase:        m.phase,
		EndTick:      m.endTick,
		Checksum:     m.checksum,
		LastInputSeq: m.lastInputSeq,
		Entities:     slices.Clone(m.entities),
		Players:      slices.Clone(m.players),
	}
}

// ApplySnapshot replaces the whole state with s and verifies its checksum.
func (m *Mirror) ApplySnapshot(s *tickwirev1.Snapshot) error {
	m.synced = false
	if s == nil {
		return fmt.Errorf("missing snapshot: %w", ErrMalformed)
	}
	if err := m.loadSnapshot(s); err != nil {
		return fmt.Errorf("snapshot at tick %d: %w", s.GetTick(), err)
	}
	m.tick, m.phase, m.endTick = s.GetTick(), s.GetPhase(), s.GetEndTick()
	m.lastInputSeq = s.GetLastInputSeq()
	if err := m.verify(s.GetChecksum()); err != nil {
		return fmt.Errorf("snapshot at tick %d: %w", s.GetTick(), err)
	}
	return nil
}

func (m *Mirror) loadSnapshot(s *tickwirev1.Snapshot) error {
	ids := s.GetEntityIds()
	if err := sameLength(len(ids), s.GetKinds(), s.GetX(), s.GetY(), s.GetAngle(), s.GetValue()); err != nil {
		return err
	}
	ents := m.entities[:0]
	for i, id := range ids {
		if i > 0 && id <= ids[i-1] {
			return fmt.Errorf("entity ids not ascending at %d: %w", id, ErrMalformed)
		}
		ents = append(ents, Entity{ID: id, Kind: s.Kinds[i], X: s.X[i], Y: s.Y[i], Angle: s.Angle[i], Value: s.Value[i]})
	}
	m.entities = ents

	players := m.players[:0]
	for _, p := range s.GetPlayers() {
		players = append(players, playerFrom(p))
	}
	slices.SortFunc(players, func(a, b Player) int { return cmp.Compare(a.ID, b.ID) })
	for i := 1; i < len(players); i++ {
		if players[i].ID == players[i-1].ID {
			return fmt.Errorf("duplicate player %d: %w", players[i].ID, ErrMalformed)
		}
	}
	m.players = players
	return nil
}

// ApplyDelta applies d to the state at d's base tick, in the protocol's order
// (removed, updates, created, players left, players joined, scores, acks,
// phase), moves the mirror to d's tick and verifies the checksum. A delta whose
// base tick is not the mirror's tick is refused with [ErrBaseTick] before
// anything changes.
//
// Hot path: runs once per bot per tick and allocates nothing unless entities
// or players are created or the delta is refused.
func (m *Mirror) ApplyDelta(d *tickwirev1.Delta) error {
	if !m.synced {
		return ErrNotSynced
	}
	if d.GetBaseTick() != m.tick {
		m.synced = false
		return fmt.Errorf("delta %d: base tick %d, mirror at %d: %w", d.GetTick(), d.GetBaseTick(), m.tick, ErrBaseTick)
	}
	m.synced = false // until the delta is applied and verified
	if err := m.applyDelta(d); err != nil {
		return fmt.Errorf("delta %d (base %d): %w", d.GetTick(), d.GetBaseTick(), err)
	}
	m.tick = d.GetTick()
	if err := m.verify(d.GetChecksum()); err != nil {
		return fmt.Errorf("delta %d (base %d): %w", d.GetTick(), d.GetBaseTick(), err)
	}
	return nil
}

func (m *Mirror) applyDelta(d *tickwirev1.Delta) error {
	if d.GetTick() <= d.GetBaseTick() {
		return fmt.Errorf("tick not after base tick: %w", ErrMalformed)
	}
	if err := m.removeEntities(d.GetRemoved()); err != nil {
		return err
	}
	if err := m.updateEntities(d.GetUpdates()); err != nil {
		return err
	}
	if err := m.createEntities(d.GetCreated()); err != nil {
		return err
	}
	if err := m.removePlayers(d.GetPlayersLeft()); err != nil {
		return err
	}
	if err := m.addPlayers(d.GetPlayersJoined()); err != nil {
		return err
	}
	if err := m.setScores(d.GetScorePlayers(), d.GetScores()); err != nil {
		return err
	}
	if err := m.setAcks(d.GetAckPlayers(), d.GetAckSeqs()); err != nil {
		return err
	}
	if d.GetPhase() != tickwirev1.MatchPhase_MATCH_PHASE_UNSPECIFIED {
		m.phase, m.endTick = d.GetPhase(), d.GetEndTick()
	}
	return nil
}

func (m *Mirror) verify(want uint32) error {
	m.checksum = Checksum(m.entities, m.players)
	if m.checksum != want {
		return fmt.Errorf("state %#08x, server %#08x: %w", m.checksum, want, ErrChecksum)
	}
	m.synced = true
	return nil
}

func (m *Mirror) removeEntities(ids []uint32) error {
	for _, id := range ids {
		i, ok := m.findEntity(id)
		if !ok {
			return fmt.Errorf("remove unknown entity %d: %w", id, ErrMalformed)
		}
		m.entities = slices.Delete(m.entities, i, i+1)
	}
	return nil
}

// columnCursor walks the value columns of an EntityUpdates.
type columnCursor struct {
	u                          *tickwirev1.EntityUpdates
	dx, dy, angle, kind, value int
}

func (c *columnCursor) apply(e *Entity, mask uint32) error {
	u := c.u
	if mask&^allFields != 0 {
		return fmt.Errorf("entity %d: unknown field mask bits %#x: %w", e.ID, mask&^allFields, ErrMalformed)
	}
	if mask&uint32(tickwirev1.FieldMask_FIELD_MASK_X) != 0 {
		if c.dx >= len(u.Dx) {
			return columnShort("dx", e.ID)
		}
		e.X += u.Dx[c.dx]
		c.dx++
	}
	if mask&uint32(tickwirev1.FieldMask_FIELD_MASK_Y) != 0 {
		if c.dy >= len(u.Dy) {
			return columnShort("dy", e.ID)
		}
		e.Y += u.Dy[c.dy]
		c.dy++
	}
	if mask&uint32(tickwirev1.FieldMask_FIELD_MASK_ANGLE) != 0 {
		if c.angle >= len(u.Angle) {
			return columnShort("angle", e.ID)
		}
		e.Angle = u.Angle[c.angle]
		c.angle++
	}
	if mask&uint32(tickwirev1.FieldMask_FIELD_MASK_KIND) != 0 {
		if c.kind >= len(u.Kinds) {
			return columnShort("kinds", e.ID)
		}
		e.Kind = u.Kinds[c.kind]
		c.kind++
	}
	if mask&uint32(tickwirev1.FieldMask_FIELD_MASK_VALUE) != 0 {
		if c.value >= len(u.Value) {
			return columnShort("value", e.ID)
		}
		e.Value = u.Value[c.value]
		c.value++
	}
	return nil
}

// done checks that every column was used up: a value left over means the
// masks and the columns disagree.
func (c *columnCursor) done() error {
	u := c.u
	if c.dx != len(u.Dx) || c.dy != len(u.Dy) || c.angle != len(u.Angle) ||
		c.kind != len(u.Kinds) || c.value != len(u.Value) {
		return fmt.Errorf("update columns longer than the masks use: %w", ErrMalformed)
	}
	return nil
}

func columnShort(column string, id uint32) error {
	return fmt.Errorf("update column %s too short at entity %d: %w", column, id, ErrMalformed)
}

func (m *Mirror) updateEntities(u *tickwirev1.EntityUpdates) error {
	if u == nil {
		return nil
	}
	gaps := u.GetIdGaps()
	n := len(gaps)
	if u.GetAll() {
		if n != 0 {
			return fmt.Errorf("updates with both all and id_gaps: %w", ErrMalformed)
		}
		n = len(m.entities)
	}
	masks := u.GetMasks()
	if len(masks) != n && len(masks) != 1 {
		return fmt.Errorf("%d masks for %d updated entities: %w", len(masks), n, ErrMalformed)
	}
	cur := columnCursor{u: u}
	var id uint32
	pos := 0
	for k := range n {
		i := k
		if !u.GetAll() {
			if k == 0 {
				id = gaps[0]
			} else {
				next := id + gaps[k]
				if next <= id {
					return fmt.Errorf("updated ids not ascending after %d: %w", id, ErrMalformed)
				}
				id = next
			}
			var ok bool
			if i, ok = m.findEntityFrom(pos, id); !ok {
				return fmt.Errorf("update of unknown entity %d: %w", id, ErrMalformed)
			}
			pos = i + 1
		}
		mask := masks[0]
		if len(masks) > 1 {
			mask = masks[k]
		}
		if err := cur.apply(&m.entities[i], mask); err != nil {
			return err
		}
	}
	return cur.done()
}

func (m *Mirror) createEntities(c *tickwirev1.EntityColumns) error {
	ids := c.GetIds()
	if err := sameLength(len(ids), c.GetKinds(), c.GetX(), c.GetY(), c.GetAngle(), c.GetValue()); err != nil {
		return fmt.Errorf("created: %w", err)
	}
	for i, id := range ids {
		e := Entity{ID: id, Kind: c.Kinds[i], X: c.X[i], Y: c.Y[i], Angle: c.Angle[i], Value: c.Value[i]}
		if n := len(m.entities); n == 0 || id > m.entities[n-1].ID {
			m.entities = append(m.entities, e) // ids only grow: the usual case
			continue
		}
		j, found := m.findEntity(id)
		if found {
			return fmt.Errorf("duplicate create of entity %d: %w", id, ErrMalformed)
		}
		m.entities = slices.Insert(m.entities, j, e)
	}
	return nil
}

func (m *Mirror) removePlayers(ids []uint32) error {
	for _, id := range ids {
		i, ok := m.findPlayer(id)
		if !ok {
			return fmt.Errorf("unknown player %d left: %w", id, ErrMalformed)
		}
		m.players = slices.Delete(m.players, i, i+1)
	}
	return nil
}

func (m *Mirror) addPlayers(joined []*tickwirev1.Player) error {
	for _, p := range joined {
		i, found := m.findPlayer(p.GetId())
		if found {
			return fmt.Errorf("player %d joined twice: %w", p.GetId(), ErrMalformed)
		}
		m.players = slices.Insert(m.players, i, playerFrom(p))
	}
	return nil
}

func (m *Mirror) setScores(ids []uint32, scores []int64) error {
	if len(ids) != len(scores) {
		return fmt.Errorf("%d score players, %d scores: %w", len(ids), len(scores), ErrMalformed)
	}
	for k, id := range ids {
		i, ok := m.findPlayer(id)
		if !ok {
			return fmt.Errorf("score of unknown player %d: %w", id, ErrMalformed)
		}
		m.players[i].Score = scores[k]
	}
	return nil
}

// setAcks records this client's own acknowledged seq. Acks of other players
// are not checked against the player list: they carry nothing the checksum
// covers.
func (m *Mirror) setAcks(ids, seqs []uint32) error {
	if len(ids) != len(seqs) {
		return fmt.Errorf("%d ack players, %d ack seqs: %w", len(ids), len(seqs), ErrMalformed)
	}
	if !m.hasSelf {
		return nil
	}
	for k, id := range ids {
		if id == m.playerID {
			m.lastInputSeq = seqs[k]
		}
	}
	return nil
}

func (m *Mirror) findEntity(id uint32) (int, bool) {
	return m.findEntityFrom(0, id)
}

// findEntityFrom finds id among the entities at or after index from. Updates
// come in ascending id order and usually touch neighbours, so it looks at from
// itself before searching.
func (m *Mirror) findEntityFrom(from int, id uint32) (int, bool) {
	ents := m.entities
	if from < len(ents) && ents[from].ID == id {
		return from, true
	}
	i, ok := slices.BinarySearchFunc(ents[from:], id, func(e Entity, id uint32) int { return cmp.Compare(e.ID, id) })
	return from + i, ok
}

func (m *Mirror) findPlayer(id uint32) (int, bool) {
	return slices.BinarySearchFunc(m.players, id, func(p Player, id uint32) int { return cmp.Compare(p.ID, id) })
}

func playerFrom(p *tickwirev1.Player) Player {
	return Player{ID: p.GetId(), Name: p.GetName(), EntityID: p.GetEntityId(), Score: p.GetScore()}
}

// sameLength checks that every entity column has n values. The protocol
// sends every column in full, zeros included.
func sameLength(n int, kinds []uint32, x, y []int32, angle []uint32, value []int32) error {
	if len(kinds) != n || len(x) != n || len(y) != n || len(angle) != n || len(value) != n {
		return fmt.Errorf("entity columns of unequal length (ids %d, kinds %d, x %d, y %d, angle %d, value %d): %w",
			n, len(kinds), len(x), len(y), len(angle), len(value), ErrMalformed)
	}
	return nil
}
