package netcode

import (
	"encoding/binary"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"

	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// Field numbers of the messages appendDeltaFrame writes, from
// proto/tickwire/v1/tickwire.proto. TestAppendDeltaFrameMatchesMarshal keeps
// them honest: it compares the bytes with proto.Marshal's.
const (
	fieldServerFrameDelta = 2

	fieldDeltaTick          = 1
	fieldDeltaBaseTick      = 2
	fieldDeltaRemoved       = 3
	fieldDeltaUpdates       = 4
	fieldDeltaCreated       = 5
	fieldDeltaPlayersLeft   = 7
	fieldDeltaScorePlayers  = 8
	fieldDeltaScores        = 9
	fieldDeltaAckPlayers    = 10
	fieldDeltaAckSeqs       = 11
	fieldDeltaPhase         = 12
	fieldDeltaEndTick       = 13
	fieldDeltaChecksum      = 14
	fieldDeltaPlayerUpdates = 15
	fieldDeltaRoom          = 16

	fieldUpdatesIDGaps = 1
	fieldUpdatesAll    = 2
	fieldUpdatesMasks  = 3
	fieldUpdatesValues = 9
	fieldUpdatesTexts  = 10

	fieldColumnsIDs    = 1
	fieldColumnsKinds  = 2
	fieldColumnsValues = 7
	fieldColumnsTexts  = 8

	fieldRoomMask   = 1
	fieldRoomValues = 2
	fieldRoomTexts  = 3
)

// deltaWire writes ServerFrame{delta} by hand, the bytes proto.Marshal
// writes for it (fields in number order, proto3 defaults left out, packed
// repeated numbers), without protobuf's reflection: its size pass and
// marshal pass were half of encodeDelta at R=200. A delta with players
// joined, or with a text that is not UTF-8 (which proto.Marshal refuses), is
// not handled (ok false): both are rare, and the caller marshals those with
// proto. Hot path: once per room per tick; it allocates nothing once
// its scratch buffers have grown. Owned by the encoder's goroutine.
type deltaWire struct {
	delta []byte // the Delta's body
	sub   []byte // one nested message's body
}

// appendDeltaFrame appends the ServerFrame carrying d to b.
func (w *deltaWire) appendDeltaFrame(b []byte, d *pb.Delta) ([]byte, bool) {
	if len(d.PlayersJoined) > 0 || !validTexts(d) {
		return b, false
	}
	x := w.delta[:0]
	x = appendUint64Field(x, fieldDeltaTick, d.Tick)
	x = appendUint64Field(x, fieldDeltaBaseTick, d.BaseTick)
	x = appendPacked(x, fieldDeltaRemoved, d.Removed)
	if d.Updates != nil {
		x = w.appendMessage(x, fieldDeltaUpdates, w.updates(d.Updates))
	}
	if d.Created != nil {
		x = w.appendMessage(x, fieldDeltaCreated, w.columns(d.Created))
	}
	x = appendPacked(x, fieldDeltaPlayersLeft, d.PlayersLeft)
	x = appendPacked(x, fieldDeltaScorePlayers, d.ScorePlayers)
	if len(d.Scores) > 0 {
		n := 0
		for _, v := range d.Scores {
			n += protowire.SizeVarint(protowire.EncodeZigZag(v))
		}
		x = protowire.AppendTag(x, fieldDeltaScores, protowire.BytesType)
		x = protowire.AppendVarint(x, uint64(n))
		for _, v := range d.Scores {
			x = protowire.AppendVarint(x, protowire.EncodeZigZag(v))
		}
	}
	x = appendPacked(x, fieldDeltaAckPlayers, d.AckPlayers)
	x = appendPacked(x, fieldDeltaAckSeqs, d.AckSeqs)
	x = appendUint64Field(x, fieldDeltaPhase, uint64(d.Phase))
	x = appendUint64Field(x, fieldDeltaEndTick, d.EndTick)
	if d.Checksum != 0 {
		x = protowire.AppendTag(x, fieldDeltaChecksum, protowire.Fixed32Type)
		x = binary.LittleEndian.AppendUint32(x, d.Checksum)
	}
	if d.PlayerUpdates != nil {
		x = w.appendMessage(x, fieldDeltaPlayerUpdates, w.updates(d.PlayerUpdates))
	}
	if d.Room != nil {
		x = w.appendMessage(x, fieldDeltaRoom, w.room(d.Room))
	}
	w.delta = x
	b = protowire.AppendTag(b, fieldServerFrameDelta, protowire.BytesType)
	return protowire.AppendBytes(b, x), true
}

// validTexts reports whether every text in d is UTF-8.
func validTexts(d *pb.Delta) bool {
	var lists [4][]string
	if d.Updates != nil {
		lists[0] = d.Updates.Texts
	}
	if d.Created != nil {
		lists[1] = d.Created.Texts
	}
	if d.PlayerUpdates != nil {
		lists[2] = d.PlayerUpdates.Texts
	}
	if d.Room != nil {
		lists[3] = d.Room.Texts
	}
	for _, l := range lists {
		for _, t := range l {
			if !utf8.ValidString(t) {
				return false
			}
		}
	}
	return true
}

// appendMessage appends a nested message whose body is sub (w.sub).
func (w *deltaWire) appendMessage(b []byte, num protowire.Number, sub []byte) []byte {
	w.sub = sub
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, sub)
}

func (w *deltaWire) updates(u *pb.EntityUpdates) []byte {
	x := w.sub[:0]
	x = appendPacked(x, fieldUpdatesIDGaps, u.IdGaps)
	if u.All {
		x = appendUint64Field(x, fieldUpdatesAll, 1)
	}
	x = appendPacked(x, fieldUpdatesMasks, u.Masks)
	x = appendPacked(x, fieldUpdatesValues, u.Values)
	return appendStrings(x, fieldUpdatesTexts, u.Texts)
}

func (w *deltaWire) columns(c *pb.EntityColumns) []byte {
	x := w.sub[:0]
	x = appendPacked(x, fieldColumnsIDs, c.Ids)
	x = appendPacked(x, fieldColumnsKinds, c.Kinds)
	x = appendPacked(x, fieldColumnsValues, c.Values)
	return appendStrings(x, fieldColumnsTexts, c.Texts)
}

func (w *deltaWire) room(r *pb.FieldValues) []byte {
	x := w.sub[:0]
	x = appendUint64Field(x, fieldRoomMask, r.Mask)
	x = appendPacked(x, fieldRoomValues, r.Values)
	return appendStrings(x, fieldRoomTexts, r.Texts)
}

// appendUint64Field appends a varint field unless it is 0 (proto3's default).
func appendUint64Field(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

// appendPacked appends a packed repeated varint field unless it is empty.
func appendPacked[T uint32 | uint64](b []byte, num protowire.Number, vs []T) []byte {
	if len(vs) == 0 {
		return b
	}
	n := 0
	for _, v := range vs {
		n += protowire.SizeVarint(uint64(v))
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(n))
	for _, v := range vs {
		b = protowire.AppendVarint(b, uint64(v))
	}
	return b
}

// appendStrings appends a repeated string field, one record per string.
func appendStrings(b []byte, num protowire.Number, ss []string) []byte {
	for _, s := range ss {
		b = protowire.AppendTag(b, num, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	return b
}
