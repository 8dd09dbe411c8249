package game

import (
	"encoding/binary"
	"math/rand/v2"
	"sort"
)

// Unit is the number of quantized position steps per world unit: positions are
// stored and sent in 1/16 of a unit.
const Unit = 16

// EntityID names an entity within a room. IDs are assigned in increasing order
// and never reused within a room.
type EntityID uint32

// PlayerID names a seat within a room. IDs are assigned in increasing order and
// never reused within a room.
type PlayerID uint32

// Entity is one simulated object. Games may change every field but ID.
type Entity struct {
	ID   EntityID
	Kind uint32
	// X and Y are in 1/Unit world units.
	X, Y int32
	// Angle is a heading in 1/256 of a turn.
	Angle uint8
	// Value is game-defined (health, a timer, ...).
	Value int32
}

// Player is one seat in a room.
type Player struct {
	ID   PlayerID
	Name string
	// Account is who the player is outside the room (the lobby's player id);
	// empty for open-room players.
	Account string
	Entity  EntityID
	Score   int64
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

// Input is one player command, applied at the next tick in Seq order.
type Input struct {
	Seq     uint32
	DX, DY  int32
	Buttons uint32
}

// World is the state of one room. It is owned by the room's goroutine: a Game
// touches it only from the callbacks the room makes, and an Observer only reads it.
type World struct {
	tick       uint64
	phase      Phase
	entities   []Entity // ascending ID
	players    []*Player
	nextEntity EntityID
	rand       *rand.Rand
}

func newWorld(seed uint64) *World {
	return &World{
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

// Spawn adds an entity and returns its ID.
func (w *World) Spawn(e Entity) EntityID {
	e.ID = w.nextEntity
	w.nextEntity++
	w.entities = append(w.entities, e) // IDs only grow, so order holds
	return e.ID
}

// Remove deletes an entity; removing an unknown ID does nothing.
func (w *World) Remove(id EntityID) {
	i, ok := w.find(id)
	if !ok {
		return
	}
	w.entities = append(w.entities[:i], w.entities[i+1:]...)
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
	i := sort.Search(len(w.players), func(i int) bool { return w.players[i].ID >= id })
	if i < len(w.players) && w.players[i].ID == id {
		return w.players[i]
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

func (w *World) find(id EntityID) (int, bool) {
	i := sort.Search(len(w.entities), func(i int) bool { return w.entities[i].ID >= id })
	return i, i < len(w.entities) && w.entities[i].ID == id
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
// FNV-1a 32 over every entity in ascending ID order (id, kind, x, y, angle, value)
// and then every player in ascending ID order (id, score), each field
// little-endian, 32 bits wide except the 64-bit score.
func (w *World) Checksum() uint32 {
	return Checksum(w.entities, w.players)
}

// Checksum computes the state checksum of the given entities and players, both
// in ascending ID order. It allocates nothing: it runs once per room per tick.
func Checksum(entities []Entity, players []*Player) uint32 {
	h := uint32(fnvOffset)
	var b [24]byte
	for i := range entities {
		e := &entities[i]
		binary.LittleEndian.PutUint32(b[0:], uint32(e.ID))
		binary.LittleEndian.PutUint32(b[4:], e.Kind)
		binary.LittleEndian.PutUint32(b[8:], uint32(e.X))
		binary.LittleEndian.PutUint32(b[12:], uint32(e.Y))
		binary.LittleEndian.PutUint32(b[16:], uint32(e.Angle))
		binary.LittleEndian.PutUint32(b[20:], uint32(e.Value))
		h = fnv1a(h, b[:24])
	}
	for _, p := range players {
		binary.LittleEndian.PutUint32(b[0:], uint32(p.ID))
		binary.LittleEndian.PutUint64(b[4:], uint64(p.Score))
		h = fnv1a(h, b[:12])
	}
	return h
}

const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func fnv1a(h uint32, b []byte) uint32 {
	for _, c := range b {
		h ^= uint32(c)
		h *= fnvPrime
	}
	return h
}
