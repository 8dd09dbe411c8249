package bots

import "encoding/binary"

const (
	fnvOffset = 0x811c9dc5
	fnvPrime  = 16777619
)

// Checksum is the protocol's state checksum: 32-bit FNV-1a over every entity in
// ascending id order (id, kind, x, y, angle, value: 24 bytes, each field a
// little-endian 32-bit word, signed ones in two's complement) and then every
// player in ascending id order (id as 32 bits, score as 64 bits: 12 bytes).
// Both slices must already be sorted by id, as a [Mirror] keeps them. The
// checksum of an empty state is 0x811c9dc5.
//
// It runs once per received frame per bot, so it allocates nothing.
func Checksum(entities []Entity, players []Player) uint32 {
	h := uint32(fnvOffset)
	var b [24]byte
	for i := range entities {
		e := &entities[i]
		binary.LittleEndian.PutUint32(b[0:], e.ID)
		binary.LittleEndian.PutUint32(b[4:], e.Kind)
		binary.LittleEndian.PutUint32(b[8:], uint32(e.X))
		binary.LittleEndian.PutUint32(b[12:], uint32(e.Y))
		binary.LittleEndian.PutUint32(b[16:], e.Angle)
		binary.LittleEndian.PutUint32(b[20:], uint32(e.Value))
		h = fnv1a(h, b[:24])
	}
	for i := range players {
		binary.LittleEndian.PutUint32(b[0:], players[i].ID)
		binary.LittleEndian.PutUint64(b[4:], uint64(players[i].Score))
		h = fnv1a(h, b[:12])
	}
	return h
}

func fnv1a(h uint32, p []byte) uint32 {
	for _, c := range p {
		h ^= uint32(c)
		h *= fnvPrime
	}
	return h
}
