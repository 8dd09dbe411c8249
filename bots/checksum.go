package bots

const (
	fnvOffset = 0x811c9dc5
	fnvPrime  = 16777619
)

// Checksum is the protocol's state checksum (PROTOCOL.md, "Checksum"):
// 32-bit FNV-1a over every entity in ascending id order (id, kind, then its
// kind's fields), every player in ascending id order (id, score, then the
// player fields) and then the room's fields. Ids and kinds are 32-bit
// little-endian words, scores and every numeric field component 64-bit
// little-endian (two's complement), a text its 32-bit byte length and then
// its bytes; fields go in mask bit order. Both slices must already be sorted
// by id, as a [Mirror] keeps them. The checksum of an empty state is
// 0x811c9dc5.
//
// It runs once per received frame per bot, so it allocates nothing.
func Checksum(s *Schema, entities []Entity, players []Player, room Record) uint32 {
	h := uint32(fnvOffset)
	for i := range entities {
		e := &entities[i]
		h = hash32(h, e.ID)
		h = hash32(h, e.Kind)
		if sh := s.kind(e.Kind); sh != nil {
			h = hashRecord(h, sh, &e.Record)
		}
	}
	for i := range players {
		h = hash32(h, players[i].ID)
		h = hash64(h, uint64(players[i].Score))
		h = hashRecord(h, &s.Player, &players[i].Record)
	}
	return hashRecord(h, &s.Room, &room)
}

func hashRecord(h uint32, sh *Shape, r *Record) uint32 {
	for b := range sh.Bits {
		if !sh.isText(b) {
			h = hash64(h, uint64(r.Values[b]))
			continue
		}
		t := r.Texts[b]
		h = hash32(h, uint32(len(t)))
		for j := 0; j < len(t); j++ {
			h = (h ^ uint32(t[j])) * fnvPrime
		}
	}
	return h
}

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
