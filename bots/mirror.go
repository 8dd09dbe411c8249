package bots

import (
	"cmp"
	"errors"
	"fmt"
	"math/bits"
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

// Record holds the declared fields of one entity, player or the room, indexed
// by mask bit ([Field].Bit): Values holds the numbers (a text's bit holds 0),
// Texts, when the shape has a text field, the strings (a number's bit holds
// ""). Numbers are exactly as the server stores them: fixed-point values and
// positions in steps of their scale, angles in steps of their bits.
type Record struct {
	Values []int64  `json:"values,omitempty"`
	Texts  []string `json:"texts,omitempty"`
}

func newRecord(sh *Shape) Record {
	var r Record
	if sh.Bits > 0 {
		r.Values = make([]int64, sh.Bits)
	}
	if sh.HasText {
		r.Texts = make([]string, sh.Bits)
	}
	return r
}

func (r Record) clone() Record {
	return Record{Values: slices.Clone(r.Values), Texts: slices.Clone(r.Texts)}
}

// Entity is one entity as the wire describes it.
type Entity struct {
	ID   uint32 `json:"id"`
	Kind uint32 `json:"kind"`
	Record
}

// Player is one seat in a room as the wire describes it.
type Player struct {
	ID       uint32 `json:"id"`
	Name     string `json:"name"`
	EntityID uint32 `json:"entity_id"`
	Score    int64  `json:"score"`
	Record
}

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
	// Room is the room's own fields.
	Room Record `json:"room"`
}

// Mirror is a client's copy of a room's state, rebuilt from snapshots and
// deltas exactly as the protocol describes, and verified against the server's
// checksum after every frame.
//
// The zero value is an empty mirror that is not synced: it needs the room's
// schema (SetSchema, from the Welcome) and then a snapshot. A Mirror is not safe for concurrent use; a [Client] guards its own.
// After a failed Apply the state is undefined (Synced reports false) until the
// next successful ApplySnapshot.
type Mirror struct {
	tick         uint64
	endTick      uint64
	phase        tickwirev1.MatchPhase
	schema       *Schema
	entities     []Entity // ascending ID
	players      []Player // ascending ID
	room         Record
	checksum     uint32
	lastInputSeq uint32
	synced       bool

	hasSelf  bool
	playerID uint32
	entityID uint32

	// borrowed: entities, players and room are a verified state shared with
	// other mirrors of the process (sharedState), read only; detach copies
	// them before a frame changes them.
	borrowed bool

	// Scratch for applying updates, reused so a delta allocates nothing.
	recs   []*Record
	shapes []*Shape
}

// SetSchema sets the schema every later frame is decoded by (the Welcome's)
// and empties the mirror.
func (m *Mirror) SetSchema(s *Schema) {
	m.schema, m.synced = s, false
	m.disown()
	m.entities, m.players, m.room = m.entities[:0], m.players[:0], Record{}
}

// Schema is the schema the mirror decodes by, or nil before SetSchema.
func (m *Mirror) Schema() *Schema { return m.schema }

// Room returns the room's own fields, under the same terms as Entities.
func (m *Mirror) Room() Record { return m.room }

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
// the mirror, and may be shared with other mirrors of the process that are in
// the same state (see the package doc, Cost): callers must not modify it or
// keep it past the next Apply.
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
	st := State{
		Tick:         m.tick,
		Phase:        m.phase,
		EndTick:      m.endTick,
		Checksum:     m.checksum,
		LastInputSeq: m.lastInputSeq,
		Entities:     slices.Clone(m.entities),
		Players:      slices.Clone(m.players),
		Room:         m.room.clone(),
	}
	for i := range st.Entities {
		st.Entities[i].Record = st.Entities[i].Record.clone()
	}
	for i := range st.Players {
		st.Players[i].Record = st.Players[i].Record.clone()
	}
	return st
}

// ApplySnapshot replaces the whole state with s and verifies its checksum.
func (m *Mirror) ApplySnapshot(s *tickwirev1.Snapshot) error {
	return m.applySnapshotFrom(s, nil)
}

// applySnapshotFrom is ApplySnapshot of a snapshot decoded from a shared
// frame, or from none: when another mirror decoding by the same schema
// already loaded and verified these bytes, the result is the same state, so
// this mirror takes that mirror's verified state (read only, see
// sharedState) instead of loading and verifying it again. Otherwise it loads
// and verifies in full, and gives its result to shared.
func (m *Mirror) applySnapshotFrom(s *tickwirev1.Snapshot, shared *cachedFrame) error {
	m.synced = false
	if s == nil {
		return fmt.Errorf("missing snapshot: %w", ErrMalformed)
	}
	if m.schema == nil {
		return fmt.Errorf("snapshot before the schema: %w", ErrNotSynced)
	}
	from := verifiedFrom{schema: m.schema.fingerprint, snapshot: true}
	if st, ok := shared.result(from); ok {
		m.borrow(st)
	} else {
		m.disown()
		if err := m.loadSnapshot(s); err != nil {
			return fmt.Errorf("snapshot at tick %d: %w", s.GetTick(), err)
		}
	}
	m.tick, m.phase, m.endTick = s.GetTick(), s.GetPhase(), s.GetEndTick()
	m.lastInputSeq = s.GetLastInputSeq()
	if m.borrowed {
		m.checksum, m.synced = s.GetChecksum(), true
		return nil
	}
	if err := m.verify(s.GetChecksum()); err != nil {
		return fmt.Errorf("snapshot at tick %d: %w", s.GetTick(), err)
	}
	m.give(shared, from)
	return nil
}

func (m *Mirror) loadSnapshot(s *tickwirev1.Snapshot) error {
	ents, err := m.decodeEntities(m.entities[:0], s.GetEntities())
	if err != nil {
		return err
	}
	m.entities = ents
	m.room = newRecord(&m.schema.Room)
	if err := m.schema.Room.loadRow(&m.room, s.GetRoom().GetValues(), s.GetRoom().GetTexts()); err != nil {
		return fmt.Errorf("room: %w", err)
	}
	players := m.players[:0]
	for _, p := range s.GetPlayers() {
		pl, err := m.playerFrom(p)
		if err != nil {
			return err
		}
		players = append(players, pl)
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

// decodeEntities appends the entities of c, every field present, values
// column by column.
func (m *Mirror) decodeEntities(dst []Entity, c *tickwirev1.EntityColumns) ([]Entity, error) {
	ids, kinds := c.GetIds(), c.GetKinds()
	if len(kinds) != len(ids) {
		return nil, fmt.Errorf("%d entity ids, %d kinds: %w", len(ids), len(kinds), ErrMalformed)
	}
	start := len(dst)
	bits := 0
	for i, id := range ids {
		if i > 0 && id <= ids[i-1] {
			return nil, fmt.Errorf("entity ids not ascending at %d: %w", id, ErrMalformed)
		}
		sh := m.schema.kind(kinds[i])
		if sh == nil {
			return nil, fmt.Errorf("entity %d has unknown kind %d: %w", id, kinds[i], ErrMalformed)
		}
		bits = max(bits, sh.Bits)
		dst = append(dst, Entity{ID: id, Kind: kinds[i], Record: newRecord(sh)})
	}
	vals, texts := c.GetValues(), c.GetTexts()
	for b := range bits {
		for i := start; i < len(dst); i++ {
			e := &dst[i]
			sh := m.schema.kind(e.Kind)
			switch {
			case b >= sh.Bits:
			case sh.isText(b):
				if len(texts) == 0 {
					return nil, fmt.Errorf("entity texts too short at entity %d: %w", e.ID, ErrMalformed)
				}
				e.Texts[b], texts = texts[0], texts[1:]
			default:
				if len(vals) == 0 {
					return nil, fmt.Errorf("entity values too short at entity %d: %w", e.ID, ErrMalformed)
				}
				e.Values[b], vals = sh.full(b, vals[0]), vals[1:]
			}
		}
	}
	if len(vals) != 0 || len(texts) != 0 {
		return nil, fmt.Errorf("entity columns longer than the entities use: %w", ErrMalformed)
	}
	return dst, nil
}

// loadRow fills a record from one row of full values in bit order.
func (sh *Shape) loadRow(r *Record, vals []uint64, texts []string) error {
	for b := range sh.Bits {
		if sh.isText(b) {
			if len(texts) == 0 {
				return fmt.Errorf("texts too short: %w", ErrMalformed)
			}
			r.Texts[b], texts = texts[0], texts[1:]
			continue
		}
		if len(vals) == 0 {
			return fmt.Errorf("values too short: %w", ErrMalformed)
		}
		r.Values[b], vals = sh.full(b, vals[0]), vals[1:]
	}
	if len(vals) != 0 || len(texts) != 0 {
		return fmt.Errorf("values longer than the fields: %w", ErrMalformed)
	}
	return nil
}

func (m *Mirror) playerFrom(p *tickwirev1.Player) (Player, error) {
	pl := Player{ID: p.GetId(), Name: p.GetName(), EntityID: p.GetEntityId(), Score: p.GetScore(), Record: newRecord(&m.schema.Player)}
	if err := m.schema.Player.loadRow(&pl.Record, p.GetValues(), p.GetTexts()); err != nil {
		return Player{}, fmt.Errorf("player %d: %w", pl.ID, err)
	}
	return pl, nil
}

// ApplyDelta applies d to the state at d's base tick, in the protocol's order
// (removed, updates, created, players left, players joined, scores, player
// updates, acks, room, phase), moves the mirror to d's tick and verifies the checksum. A delta whose
// base tick is not the mirror's tick is refused with [ErrBaseTick] before
// anything changes.
//
// Hot path: runs once per bot per tick and allocates nothing unless entities
// or players are created or the delta is refused.
func (m *Mirror) ApplyDelta(d *tickwirev1.Delta) error {
	return m.applyDeltaFrom(d, nil)
}

// applyDeltaFrom is ApplyDelta of a delta decoded from a shared frame, or
// from none. When another mirror at the same tick with the same verified
// checksum (decoding by the same schema) already applied these bytes and
// verified the result, the result is the same state, so this mirror takes
// that mirror's verified state (read only, see sharedState) and applies
// only what is its own (its acknowledged input seq, and the phase). Any
// other mirror applies and verifies in full, and gives its result to shared.
//
// Hot path: once per bot per tick.
func (m *Mirror) applyDeltaFrom(d *tickwirev1.Delta, shared *cachedFrame) error {
	if !m.synced {
		return ErrNotSynced
	}
	if d.GetBaseTick() != m.tick {
		m.synced = false
		return fmt.Errorf("delta %d: base tick %d, mirror at %d: %w", d.GetTick(), d.GetBaseTick(), m.tick, ErrBaseTick)
	}
	m.synced = false // until the delta is applied and verified
	from := verifiedFrom{schema: m.schema.fingerprint, tick: m.tick, checksum: m.checksum}
	if st, ok := shared.result(from); ok {
		// The same bytes applied cleanly to the same state: nothing in them
		// can fail here.
		if err := m.setAcks(d.GetAckPlayers(), d.GetAckSeqs()); err != nil {
			return fmt.Errorf("delta %d (base %d): %w", d.GetTick(), d.GetBaseTick(), err)
		}
		if d.GetPhase() != tickwirev1.MatchPhase_MATCH_PHASE_UNSPECIFIED {
			m.phase, m.endTick = d.GetPhase(), d.GetEndTick()
		}
		m.borrow(st)
		m.tick, m.checksum, m.synced = d.GetTick(), d.GetChecksum(), true
		return nil
	}
	m.detach()
	if err := m.applyDelta(d); err != nil {
		return fmt.Errorf("delta %d (base %d): %w", d.GetTick(), d.GetBaseTick(), err)
	}
	m.tick = d.GetTick()
	if err := m.verify(d.GetChecksum()); err != nil {
		return fmt.Errorf("delta %d (base %d): %w", d.GetTick(), d.GetBaseTick(), err)
	}
	m.give(shared, from)
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
	if err := m.updatePlayers(d.GetPlayerUpdates()); err != nil {
		return fmt.Errorf("player updates: %w", err)
	}
	if err := m.setAcks(d.GetAckPlayers(), d.GetAckSeqs()); err != nil {
		return err
	}
	if r := d.GetRoom(); r != nil {
		if err := m.schema.Room.applyRow(&m.room, r); err != nil {
			return fmt.Errorf("room: %w", err)
		}
	}
	if d.GetPhase() != tickwirev1.MatchPhase_MATCH_PHASE_UNSPECIFIED {
		m.phase, m.endTick = d.GetPhase(), d.GetEndTick()
	}
	return nil
}

// applyRow applies one record's changes in bit order.
func (sh *Shape) applyRow(r *Record, f *tickwirev1.FieldValues) error {
	mask, vals, texts := f.GetMask(), f.GetValues(), f.GetTexts()
	if mask&^sh.all() != 0 {
		return fmt.Errorf("unknown field mask bits %#x: %w", mask&^sh.all(), ErrMalformed)
	}
	for u := mask; u != 0; u &= u - 1 {
		b := bits.TrailingZeros64(u)
		if sh.isText(b) {
			if len(texts) == 0 {
				return fmt.Errorf("texts too short: %w", ErrMalformed)
			}
			r.Texts[b], texts = texts[0], texts[1:]
			continue
		}
		if len(vals) == 0 {
			return fmt.Errorf("values too short: %w", ErrMalformed)
		}
		sh.apply(b, &r.Values[b], vals[0])
		vals = vals[1:]
	}
	if len(vals) != 0 || len(texts) != 0 {
		return fmt.Errorf("values longer than the mask uses: %w", ErrMalformed)
	}
	return nil
}

// borrow makes st the mirror's state; it is read only from now on.
func (m *Mirror) borrow(st *sharedState) {
	m.entities, m.players, m.room, m.borrowed = st.entities, st.players, st.room, true
}

// give hands the mirror's state, just verified after applying shared from
// the prior state from, to shared for other mirrors in that prior state;
// it is read only from now on.
func (m *Mirror) give(shared *cachedFrame, from verifiedFrom) {
	if shared == nil || from.schema == 0 {
		return
	}
	shared.publish(from, &sharedState{entities: m.entities, players: m.players, room: m.room})
	m.borrowed = true
}

// detach makes a borrowed state the mirror's own by copying it, before a
// frame changes it in place.
func (m *Mirror) detach() {
	if !m.borrowed {
		return
	}
	m.borrowed = false
	n, tn := len(m.room.Values), len(m.room.Texts)
	for i := range m.entities {
		n, tn = n+len(m.entities[i].Values), tn+len(m.entities[i].Texts)
	}
	for i := range m.players {
		n, tn = n+len(m.players[i].Values), tn+len(m.players[i].Texts)
	}
	// One array for every record's values and one for its texts.
	vals, texts := make([]int64, 0, n), make([]string, 0, tn)
	copyRecord := func(r Record) Record {
		var c Record
		if r.Values != nil {
			start := len(vals)
			vals = append(vals, r.Values...)
			c.Values = vals[start:len(vals):len(vals)]
		}
		if r.Texts != nil {
			start := len(texts)
			texts = append(texts, r.Texts...)
			c.Texts = texts[start:len(texts):len(texts)]
		}
		return c
	}
	ents := make([]Entity, len(m.entities), cap(m.entities))
	for i, e := range m.entities {
		ents[i] = Entity{ID: e.ID, Kind: e.Kind, Record: copyRecord(e.Record)}
	}
	players := make([]Player, len(m.players), cap(m.players))
	for i, p := range m.players {
		p.Record = copyRecord(p.Record)
		players[i] = p
	}
	m.entities, m.players, m.room = ents, players, copyRecord(m.room)
}

// disown drops a borrowed state before the mirror loads a new one in its
// place.
func (m *Mirror) disown() {
	if m.borrowed {
		m.entities, m.players, m.room, m.borrowed = nil, nil, Record{}, false
	}
}

func (m *Mirror) verify(want uint32) error {
	m.checksum = Checksum(m.schema, m.entities, m.players, m.room)
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

// updateEntities applies u to the entities it names.
func (m *Mirror) updateEntities(u *tickwirev1.EntityUpdates) error {
	if u == nil {
		return nil
	}
	m.recs, m.shapes = m.recs[:0], m.shapes[:0]
	err := walkUpdates(u, len(m.entities), func(pos int, id uint32, all bool) (int, error) {
		i := pos
		if !all {
			var ok bool
			if i, ok = m.findEntityFrom(pos, id); !ok {
				return 0, fmt.Errorf("update of unknown entity %d: %w", id, ErrMalformed)
			}
		}
		e := &m.entities[i]
		m.recs, m.shapes = append(m.recs, &e.Record), append(m.shapes, m.schema.kind(e.Kind))
		return i + 1, nil
	})
	if err != nil {
		return err
	}
	return applyColumns(u, m.recs, m.shapes)
}

// updatePlayers applies u to the players it names.
func (m *Mirror) updatePlayers(u *tickwirev1.EntityUpdates) error {
	if u == nil {
		return nil
	}
	m.recs, m.shapes = m.recs[:0], m.shapes[:0]
	err := walkUpdates(u, len(m.players), func(pos int, id uint32, all bool) (int, error) {
		i := pos
		if !all {
			var ok bool
			if i, ok = m.findPlayer(id); !ok {
				return 0, fmt.Errorf("update of unknown player %d: %w", id, ErrMalformed)
			}
		}
		m.recs, m.shapes = append(m.recs, &m.players[i].Record), append(m.shapes, &m.schema.Player)
		return i + 1, nil
	})
	if err != nil {
		return err
	}
	return applyColumns(u, m.recs, m.shapes)
}

// walkUpdates calls visit for every updated record in order: with its index
// when all is set (pos counts from 0), or with its id and the index to search
// from otherwise.
func walkUpdates(u *tickwirev1.EntityUpdates, n int, visit func(pos int, id uint32, all bool) (int, error)) error {
	gaps := u.GetIdGaps()
	if u.GetAll() {
		if len(gaps) != 0 {
			return fmt.Errorf("updates with both all and id_gaps: %w", ErrMalformed)
		}
	} else {
		n = len(gaps)
	}
	masks := u.GetMasks()
	if len(masks) != n && len(masks) != 1 {
		return fmt.Errorf("%d masks for %d updated records: %w", len(masks), n, ErrMalformed)
	}
	var id uint32
	pos := 0
	for k := range n {
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
		}
		var err error
		if pos, err = visit(pos, id, u.GetAll()); err != nil {
			return err
		}
	}
	return nil
}

// applyColumns applies the column-by-column values of u to the records it
// names, in order: it counts what each mask bit's column holds, then reads
// every column from its start.
func applyColumns(u *tickwirev1.EntityUpdates, recs []*Record, shapes []*Shape) error {
	masks := u.GetMasks()
	var count, tcount [maxBits]int
	for k, sh := range shapes {
		mask := masks[0]
		if len(masks) > 1 {
			mask = masks[k]
		}
		if mask&^sh.all() != 0 {
			return fmt.Errorf("record %d: unknown field mask bits %#x: %w", k, mask&^sh.all(), ErrMalformed)
		}
		for b := mask; b != 0; b &= b - 1 {
			bit := bits.TrailingZeros64(b)
			if sh.isText(bit) {
				tcount[bit]++
			} else {
				count[bit]++
			}
		}
	}
	var off, toff [maxBits]int
	n, tn := 0, 0
	for b := range maxBits {
		off[b], toff[b] = n, tn
		n, tn = n+count[b], tn+tcount[b]
	}
	vals, texts := u.GetValues(), u.GetTexts()
	if n != len(vals) || tn != len(texts) {
		return fmt.Errorf("masks use %d values and %d texts, the columns hold %d and %d: %w", n, tn, len(vals), len(texts), ErrMalformed)
	}
	for k, sh := range shapes {
		mask := masks[0]
		if len(masks) > 1 {
			mask = masks[k]
		}
		r := recs[k]
		for b := mask; b != 0; b &= b - 1 {
			bit := bits.TrailingZeros64(b)
			if sh.isText(bit) {
				r.Texts[bit] = texts[toff[bit]]
				toff[bit]++
				continue
			}
			sh.apply(bit, &r.Values[bit], vals[off[bit]])
			off[bit]++
		}
	}
	return nil
}

func (m *Mirror) createEntities(c *tickwirev1.EntityColumns) error {
	if c == nil {
		return nil
	}
	created, err := m.decodeEntities(nil, c)
	if err != nil {
		return fmt.Errorf("created: %w", err)
	}
	for _, e := range created {
		if n := len(m.entities); n == 0 || e.ID > m.entities[n-1].ID {
			m.entities = append(m.entities, e) // ids only grow: the usual case
			continue
		}
		j, found := m.findEntity(e.ID)
		if found {
			return fmt.Errorf("duplicate create of entity %d: %w", e.ID, ErrMalformed)
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
		pl, err := m.playerFrom(p)
		if err != nil {
			return err
		}
		m.players = slices.Insert(m.players, i, pl)
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
