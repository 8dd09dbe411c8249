package directory

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A room is stored in Redis as one string: its fields in the order below,
// separated by the unit separator, which prepare keeps out of every field.
// One string per room is what makes List fast: a hash of one field per
// value costs several times more to fetch, and JSON several times more to
// decode. The scripts split and join it the same way (see luaPrelude).
const (
	fVersion  = iota // recordVersion
	fID              // the fields of Room...
	fMode            //
	fNode            //
	fAddr            //
	fCap             //
	fPlayers         //
	fState           //
	fPriv            // "1" or "0"
	fCode            //
	fMM              // Matchmade, "1" or "0"
	fRating          //
	fJoined          //
	fAssigned        //
	fLaS             // LastAssign in Unix seconds; "" if never
	fLaNs            // and its nanoseconds
	fCreated         // CreatedAt in Unix nanoseconds
	fMember          // the room's index member
	fGen             // random, tells the room from a later one with its id
	nFields
)

const (
	recordVersion = "1"
	sep           = "\x1f"
)

// record is a room read from Redis.
type record struct {
	Room
	member, gen string
}

// encodeRecord returns the stored form of a new room.
func encodeRecord(r *Room, member, gen string) string {
	var f [nFields]string
	f[fVersion], f[fID], f[fMode], f[fNode], f[fAddr] = recordVersion, r.ID, r.Mode, r.Node, r.Address
	f[fCap], f[fPlayers], f[fState] = strconv.Itoa(r.Capacity), strconv.Itoa(r.Players), string(r.State)
	f[fPriv], f[fCode], f[fMM] = flag(r.Private), r.Code, flag(r.Matchmade)
	f[fRating] = strconv.FormatFloat(r.Rating, 'g', -1, 64)
	f[fJoined], f[fAssigned] = strconv.Itoa(r.Joined), strconv.Itoa(r.Assigned)
	if !r.LastAssign.IsZero() {
		f[fLaS], f[fLaNs] = strconv.FormatInt(r.LastAssign.Unix(), 10), strconv.Itoa(r.LastAssign.Nanosecond())
	}
	f[fCreated] = strconv.FormatInt(r.CreatedAt.UnixNano(), 10)
	f[fMember], f[fGen] = member, gen
	return strings.Join(f[:], sep)
}

// decodeRecord reads a stored room. Its strings share s's memory.
func decodeRecord(s string) (record, error) {
	var f [nFields]string
	for i := range f {
		var ok bool
		if f[i], s, ok = strings.Cut(s, sep); !ok && i != nFields-1 {
			return record{}, fmt.Errorf("decode room: %d fields, want %d", i+1, nFields)
		}
	}
	if f[fVersion] != recordVersion {
		return record{}, fmt.Errorf("decode room %s: version %q", f[fID], f[fVersion])
	}
	p := numParser{}
	r := Room{
		ID: f[fID], Mode: f[fMode], Node: f[fNode], Address: f[fAddr],
		Capacity: p.int(f[fCap]), Players: p.int(f[fPlayers]), State: State(f[fState]),
		Private: f[fPriv] == "1", Code: f[fCode], Matchmade: f[fMM] == "1", Rating: p.float(f[fRating]),
		Joined: p.int(f[fJoined]), Assigned: p.int(f[fAssigned]),
		CreatedAt: time.Unix(0, p.int64(f[fCreated])).UTC(),
	}
	if f[fLaS] != "" {
		r.LastAssign = time.Unix(p.int64(f[fLaS]), p.int64(f[fLaNs])).UTC()
	}
	if p.err != nil {
		return record{}, fmt.Errorf("decode room %s: %w", r.ID, p.err)
	}
	return record{Room: r, member: f[fMember], gen: f[fGen]}, nil
}

// numParser parses numbers, keeping the first error.
type numParser struct{ err error }

func (p *numParser) int64(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil && p.err == nil {
		p.err = err
	}
	return n
}

func (p *numParser) int(s string) int { return int(p.int64(s)) }

func (p *numParser) float(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && p.err == nil {
		p.err = err
	}
	return f
}

// luaPrelude begins every script that reads a room: split and join a stored
// room, and the 1-based indexes of its fields.
var luaPrelude = fmt.Sprintf(`
local function split(s)
  local t, i = {}, 1
  while true do
    local j = string.find(s, '\31', i, true)
    if not j then t[#t + 1] = string.sub(s, i) return t end
    t[#t + 1] = string.sub(s, i, j - 1)
    i = j + 1
  end
end
local function join(t) return table.concat(t, '\31') end
local CAP, PLAYERS, STATE, JOINED, ASSIGNED, LA_S, LA_NS, MEMBER, GEN = %d, %d, %d, %d, %d, %d, %d, %d, %d
`, fCap+1, fPlayers+1, fState+1, fJoined+1, fAssigned+1, fLaS+1, fLaNs+1, fMember+1, fGen+1)
