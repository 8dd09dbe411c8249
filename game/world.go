package game

import (
	"math/rand/v2"
)

// EntityID names an entity within a room. IDs are assigned in increasing order
// and never reused within a room.
type EntityID uint32

// PlayerID names a seat within a room. IDs are assigned in increasing order and
// never reused within a room.
type PlayerID uint32

// Entity is one simulated object of a declared [Kind]. Its fields are read and
// written with the kind's handles (Values); its ID and kind are fixed.
type Entity struct {
	Values
	id   EntityID
	kind *Kind
}

// ID is the entity's id.
func (e *Entity) ID() EntityID { return e.id }

// Kind is the entity's kind.
func (e *Entity) Kind() *Kind { return e.kind }

// Player is one seat in a room. Its declared fields (the schema's Player
// fields) are read and written with their handles (Values).
type Player struct {
	Values
	ID   PlayerID
	Name string
	// Account is who the player is outside the room (the lobby's player id);
	// empty for open-room players.
	Account string
	// Party, Rating, Team and Attributes come from the player's join
	// ticket (JoinRequest).
	Party      string
	Rating     float64
	Team       string
	Attributes map[string]string
	Entity     EntityID
	// Score ranks the player in the match's standings and on leaderboards.
	Score int64
	// LastSeq is the sequence number of the last input applied for this player.
	LastSeq uint32
	// Disconnected is set while the player's connection is down and its seat
	// is held for a rejoin (Sim.Disconnect): the player keeps its entity and
	// score and takes a seat, but sends no inputs. Games read it; only the
	// Sim sets it.
	Disconnected bool
	// heldUntil is the first tick at which a disconnected player is removed.
	heldUntil uint64
}

// World is the state of one room. It is owned by the room's goroutine: a Game
// touches it only from the callbacks the room makes, and an Observer only reads it.
//
// The room's own declared fields (the schema's Room fields) are read and
// written on the World with their handles, as w.SetInt(round, 2).
type World struct {
	Values
	schema     *Schema
	tick       uint64
	phase      Phase
	entities   []Entity // ascending ID
	players    []*Player
	nextEntity EntityID
	rand       *rand.Rand
	endReason  string     // set by EndMatch
	events     []Event    // sent this tick; cleared after the observer saw them
	eventBytes int        // the Data of events, for MaxTickEventBytes
	chat       []ChatLine // said this tick; cleared likewise
	spare      [][]Values // by kind id-1: storage of removed entities, for Spawn to reuse
}

func newWorld(schema *Schema, seed uint64) *World {
	return &World{
		Values:     newValues(&schema.Room),
		schema:     schema,
		nextEntity: 1,
		rand:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
}

// Tick is the current tick number. Tick numbers are schedule slots: after a
// stall longer than the catch-up bound some numbers are skipped.
func (w *World) Tick() uint64 { return w.tick }

// Phase is the current match phase.
func (w *World) Phase() Phase { return w.phase }

// Rand is the room's seeded random source. A game that draws randomness only
// from it stays deterministic.
func (w *World) Rand() *rand.Rand { return w.rand }

// Schema is the room's schema.
func (w *World) Schema() *Schema { return w.schema }

// Spawn adds an entity of the given kind, every field zero, and returns it to
// set its fields. The pointer is valid until the next Spawn or Remove.
func (w *World) Spawn(k *Kind) *Entity {
	if k == nil || w.schema.KindByID(k.id) != k {
		panic("game: Spawn of a kind this room's schema does not declare")
	}
	w.entities = append(w.entities, Entity{Values: w.values(k), id: w.nextEntity, kind: k}) // IDs only grow, so order holds
	w.nextEntity++
	return &w.entities[len(w.entities)-1]
}

// values returns zeroed storage for an entity of kind k: a removed
// entity's when there is one, so a game whose entities come and go every
// tick (shells, pickups) does not allocate for them.
func (w *World) values(k *Kind) Values {
	if int(k.id) <= len(w.spare) {
		if free := w.spare[k.id-1]; len(free) > 0 {
			v := free[len(free)-1]
			w.spare[k.id-1] = free[:len(free)-1]
			clear(v.v)
			clear(v.s)
			return v
		}
	}
	return newValues(&k.Fields)
}

// maxSpare bounds the removed entities' storage a world keeps per kind.
const maxSpare = 256

// Remove deletes an entity; removing an unknown ID does nothing. The
// entity's storage goes to the next entity of its kind spawned, so nothing
// may keep a removed entity (or its fields) past the call.
func (w *World) Remove(id EntityID) {
	i, ok := w.find(id)
	if !ok {
		return
	}
	if k := w.entities[i].kind; k != nil {
		for len(w.spare) < int(k.id) {
			w.spare = append(w.spare, nil)
		}
		if len(w.spare[k.id-1]) < maxSpare {
			w.spare[k.id-1] = append(w.spare[k.id-1], w.entities[i].Values)
		}
	}
	n := len(w.entities)
	copy(w.entities[i:], w.entities[i+1:])
	w.entities[n-1] = Entity{} // let the removed one's values go
	w.entities = w.entities[:n-1]
}

// Entity returns the entity with the given ID, or nil.
func (w *World) Entity(id EntityID) *Entity {
	i, ok := w.find(id)
	if !ok {
		return nil
	}
	return &w.entities[i]
}

// Entities returns every entity in ascending ID order. Callers may change the
// entities' fields but not their IDs, and must not keep the slice past the
// callback they got it in.
func (w *World) Entities() []Entity { return w.entities }

// Players returns the players in ascending ID order; callers must not modify the
// slice.
func (w *World) Players() []*Player { return w.players }

// Player returns the player with the given ID, or nil.
func (w *World) Player(id PlayerID) *Player {
	lo, hi := 0, len(w.players)
	for lo < hi { // a binary search sort.Search's closure call would not inline
		m := int(uint(lo+hi) >> 1)
		if w.players[m].ID < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(w.players) && w.players[lo].ID == id {
		return w.players[lo]
	}
	return nil
}

// AddScore raises (or lowers) a player's score. Scores change only while the
// match is running; at other times AddScore does nothing.
func (w *World) AddScore(id PlayerID, delta int64) {
	if w.phase != PhaseRunning {
		return
	}
	if p := w.Player(id); p != nil {
		p.Score += delta
	}
}

// find is the index id has, or would have, in w.entities. Hot path: games
// look entities up every tick; a binary search by hand, as sort.Search's
// closure call would not inline.
func (w *World) find(id EntityID) (int, bool) {
	lo, hi := 0, len(w.entities)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if w.entities[m].id < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(w.entities) && w.entities[lo].id == id
}

func (w *World) addPlayer(p *Player) {
	w.players = append(w.players, p) // IDs only grow, so order holds
}

func (w *World) removePlayer(id PlayerID) *Player {
	for i, p := range w.players {
		if p.ID == id {
			w.players = append(w.players[:i], w.players[i+1:]...)
			return p
		}
	}
	return nil
}

// Checksum is the state checksum clients verify (PROTOCOL.md, "Checksum"):
// FNV-1a 32 over every entity in ascending ID order (id, kind, then its
// declared fields), every player in ascending ID order (id, score, then its
// declared fields) and then the room's declared fields. Ids and kinds are
// 32-bit little-endian, scores and every numeric field component 64-bit
// little-endian, a text its 32-bit byte length and then its bytes. It
// allocates nothing: it runs once per room per tick.
func (w *World) Checksum() uint32 {
	h := uint32(fnvOffset)
	for i := range w.entities {
		e := &w.entities[i]
		h = hash32(h, uint32(e.id))
		h = hash32(h, e.kind.id)
		h = hashValues(h, &e.Values)
	}
	for _, p := range w.players {
		h = hash32(h, uint32(p.ID))
		h = hash64(h, uint64(p.Score))
		h = hashValues(h, &p.Values)
	}
	return hashValues(h, &w.Values)
}

// hashValues hashes a record's declared fields in declaration order.
func hashValues(h uint32, r *Values) uint32 {
	for i := range r.shape.fields {
		f := &r.shape.fields[i]
		if f.Type == TypeText {
			s := r.s[f.Slot]
			h = hash32(h, uint32(len(s)))
			for j := 0; j < len(s); j++ {
				h = (h ^ uint32(s[j])) * fnvPrime
			}
			continue
		}
		for c := range f.Type.Components() {
			h = hash64(h, uint64(r.v[f.Slot+c]))
		}
	}
	return h
}

const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func hash32(h, v uint32) uint32 {
	for range 4 {
		h = (h ^ (v & 0xff)) * fnvPrime
		v >>= 8
	}
	return h
}

func hash64(h uint32, v uint64) uint32 {
	for range 8 {
		h = (h ^ uint32(v&0xff)) * fnvPrime
		v >>= 8
	}
	return h
}
