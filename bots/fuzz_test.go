package bots

import (
	"bytes"
	"cmp"
	"errors"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// model is a plain reading of the protocol's state rules, kept deliberately
// simple (maps, no reuse of memory), to hold the Mirror to.
type model struct {
	tick, endTick uint64
	phase         tickwirev1.MatchPhase
	lastInputSeq  uint32
	entities      map[uint32]Entity
	players       map[uint32]Player
}

func modelOf(s State) *model {
	m := &model{tick: s.Tick, endTick: s.EndTick, phase: s.Phase, lastInputSeq: s.LastInputSeq,
		entities: map[uint32]Entity{}, players: map[uint32]Player{}}
	for _, e := range s.Entities {
		m.entities[e.ID] = e
	}
	for _, p := range s.Players {
		m.players[p.ID] = p
	}
	return m
}

func (m *model) state() ([]Entity, []Player) {
	ents := slices.SortedFunc(maps.Values(m.entities), func(a, b Entity) int { return cmp.Compare(a.ID, b.ID) })
	players := slices.SortedFunc(maps.Values(m.players), func(a, b Player) int { return cmp.Compare(a.ID, b.ID) })
	return ents, players
}

// column hands out a column's values in order.
type column[T any] struct {
	v []T
	i int
}

func (c *column[T]) next() (T, bool) {
	var zero T
	if c.i >= len(c.v) {
		return zero, false
	}
	c.i++
	return c.v[c.i-1], true
}

func (c *column[T]) used() bool { return c.i == len(c.v) }

// snapshot applies s, reporting whether the protocol allows it (the checksum
// aside).
func (m *model) snapshot(s *tickwirev1.Snapshot) bool {
	ids := s.GetEntityIds()
	if !sameLen(len(ids), len(s.GetKinds()), len(s.GetX()), len(s.GetY()), len(s.GetAngle()), len(s.GetValue())) {
		return false
	}
	m.entities, m.players = map[uint32]Entity{}, map[uint32]Player{}
	for i, id := range ids {
		if i > 0 && id <= ids[i-1] {
			return false
		}
		m.entities[id] = Entity{ID: id, Kind: s.Kinds[i], X: s.X[i], Y: s.Y[i], Angle: s.Angle[i], Value: s.Value[i]}
	}
	for _, p := range s.GetPlayers() {
		if _, dup := m.players[p.GetId()]; dup {
			return false
		}
		m.players[p.GetId()] = playerFrom(p)
	}
	m.tick, m.phase, m.endTick, m.lastInputSeq = s.GetTick(), s.GetPhase(), s.GetEndTick(), s.GetLastInputSeq()
	return true
}

func sameLen(n int, others ...int) bool {
	for _, o := range others {
		if o != n {
			return false
		}
	}
	return true
}

// delta applies d in the protocol's order, reporting whether it is allowed.
func (m *model) delta(d *tickwirev1.Delta, self uint32, hasSelf bool) bool {
	if d.GetBaseTick() != m.tick || d.GetTick() <= d.GetBaseTick() {
		return false
	}
	for _, id := range d.GetRemoved() {
		if _, ok := m.entities[id]; !ok {
			return false
		}
		delete(m.entities, id)
	}
	if u := d.GetUpdates(); u != nil && !m.update(u) {
		return false
	}
	c := d.GetCreated()
	if !sameLen(len(c.GetIds()), len(c.GetKinds()), len(c.GetX()), len(c.GetY()), len(c.GetAngle()), len(c.GetValue())) {
		return false
	}
	for i, id := range c.GetIds() {
		if _, dup := m.entities[id]; dup {
			return false
		}
		m.entities[id] = Entity{ID: id, Kind: c.Kinds[i], X: c.X[i], Y: c.Y[i], Angle: c.Angle[i], Value: c.Value[i]}
	}
	for _, id := range d.GetPlayersLeft() {
		if _, ok := m.players[id]; !ok {
			return false
		}
		delete(m.players, id)
	}
	for _, p := range d.GetPlayersJoined() {
		if _, dup := m.players[p.GetId()]; dup {
			return false
		}
		m.players[p.GetId()] = playerFrom(p)
	}
	if len(d.GetScorePlayers()) != len(d.GetScores()) || len(d.GetAckPlayers()) != len(d.GetAckSeqs()) {
		return false
	}
	for k, id := range d.GetScorePlayers() {
		p, ok := m.players[id]
		if !ok {
			return false
		}
		p.Score = d.GetScores()[k]
		m.players[id] = p
	}
	for k, id := range d.GetAckPlayers() {
		if hasSelf && id == self {
			m.lastInputSeq = d.GetAckSeqs()[k]
		}
	}
	if d.GetPhase() != tickwirev1.MatchPhase_MATCH_PHASE_UNSPECIFIED {
		m.phase, m.endTick = d.GetPhase(), d.GetEndTick()
	}
	m.tick = d.GetTick()
	return true
}

func (m *model) update(u *tickwirev1.EntityUpdates) bool {
	var ids []uint32
	if u.GetAll() {
		if len(u.GetIdGaps()) != 0 {
			return false
		}
		ids = slices.Sorted(maps.Keys(m.entities))
	} else {
		var id uint64
		for k, gap := range u.GetIdGaps() {
			if k > 0 && gap == 0 {
				return false
			}
			if id += uint64(gap); id > uint64(^uint32(0)) {
				return false
			}
			if _, ok := m.entities[uint32(id)]; !ok {
				return false
			}
			ids = append(ids, uint32(id))
		}
	}
	masks := u.GetMasks()
	if len(masks) != len(ids) && len(masks) != 1 {
		return false
	}
	dx, dy := column[int32]{v: u.GetDx()}, column[int32]{v: u.GetDy()}
	angle, kind, value := column[uint32]{v: u.GetAngle()}, column[uint32]{v: u.GetKinds()}, column[int32]{v: u.GetValue()}
	for k, id := range ids {
		mask := masks[0]
		if len(masks) > 1 {
			mask = masks[k]
		}
		if mask&^allFields != 0 {
			return false
		}
		e, ok := m.entities[id], true
		var v int32
		var w uint32
		if mask&mX != 0 && ok {
			v, ok = dx.next()
			e.X += v
		}
		if mask&mY != 0 && ok {
			v, ok = dy.next()
			e.Y += v
		}
		if mask&mAngle != 0 && ok {
			w, ok = angle.next()
			e.Angle = w
		}
		if mask&mKind != 0 && ok {
			w, ok = kind.next()
			e.Kind = w
		}
		if mask&mValue != 0 && ok {
			v, ok = value.next()
			e.Value = v
		}
		if !ok {
			return false
		}
		m.entities[id] = e
	}
	return dx.used() && dy.used() && angle.used() && kind.used() && value.used()
}

func cloneMirror(m *Mirror) *Mirror {
	c := *m
	c.entities, c.players = slices.Clone(m.entities), slices.Clone(m.players)
	return &c
}

// checkMirror checks a mirror that reports success against the model.
func checkMirror(t *testing.T, m *Mirror, want *model) {
	t.Helper()
	if !m.Synced() {
		t.Fatal("applied without error but not synced")
	}
	ents, players := want.state()
	if !reflect.DeepEqual(m.Entities(), ents) && (len(ents) != 0 || len(m.Entities()) != 0) {
		t.Fatalf("entities %v, want %v", m.Entities(), ents)
	}
	if !reflect.DeepEqual(m.Players(), players) && (len(players) != 0 || len(m.Players()) != 0) {
		t.Fatalf("players %v, want %v", m.Players(), players)
	}
	if m.Tick() != want.tick || m.Phase() != want.phase || m.EndTick() != want.endTick || m.LastInputSeq() != want.lastInputSeq {
		t.Fatalf("tick %d phase %v end %d seq %d, want %d %v %d %d", m.Tick(), m.Phase(), m.EndTick(), m.LastInputSeq(),
			want.tick, want.phase, want.endTick, want.lastInputSeq)
	}
	if m.Checksum() != Checksum(m.Entities(), m.Players()) {
		t.Fatalf("checksum %#x, state has %#x", m.Checksum(), Checksum(m.Entities(), m.Players()))
	}
}

// applyFixed applies a frame to a copy of m; if only the checksum was wrong,
// it sets the frame's checksum to the state's and applies it to another
// copy, so the fuzzer reaches frames that apply. It returns the mirror and
// the error of the last apply, and whether the checksum was fixed.
func applyFixed(m *Mirror, apply func(*Mirror) error, setChecksum func(uint32)) (*Mirror, error) {
	probe := cloneMirror(m)
	err := apply(probe)
	if !errors.Is(err, ErrChecksum) {
		return probe, err
	}
	setChecksum(probe.Checksum())
	again := cloneMirror(m)
	return again, apply(again)
}

// FuzzMirrorSnapshot applies arbitrary Snapshot bytes to a synced mirror: it
// must refuse what the protocol does not allow (and then report not synced)
// and, where the frame is allowed, hold exactly the state the frame says.
func FuzzMirrorSnapshot(f *testing.F) {
	for _, s := range []*tickwirev1.Snapshot{
		snapshotOf(baseState()),
		{Tick: 1},
		{EntityIds: []uint32{2, 1}, Kinds: []uint32{0, 0}, X: []int32{0, 0}, Y: []int32{0, 0}, Angle: []uint32{0, 0}, Value: []int32{0, 0}},
		{EntityIds: []uint32{1}, Kinds: []uint32{1}},
		{Players: []*tickwirev1.Player{{Id: 3}, {Id: 1}, {Id: 3}}},
	} {
		b, _ := proto.Marshal(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s tickwirev1.Snapshot
		if proto.Unmarshal(b, &s) != nil {
			return
		}
		base := syncedMirror(t)
		want := modelOf(base.State())
		ok := want.snapshot(&s)
		m, err := applyFixed(base, func(m *Mirror) error { return m.ApplySnapshot(&s) }, func(c uint32) { s.Checksum = c })
		if err != nil {
			if ok {
				t.Fatalf("refused an allowed snapshot %v: %v", &s, err)
			}
			if m.Synced() || !errors.Is(err, ErrMalformed) {
				t.Fatalf("refused with %v, synced %v", err, m.Synced())
			}
			return
		}
		if !ok {
			t.Fatalf("applied a snapshot the protocol refuses: %v", &s)
		}
		checkMirror(t, m, want)
	})
}

// FuzzMirrorDelta applies arbitrary Delta bytes to a mirror synced to a
// (fuzzed) snapshot, and checks it against the model as FuzzMirrorSnapshot
// does. rebase puts the delta on the mirror's tick, which arbitrary bytes
// would rarely hit.
func FuzzMirrorDelta(f *testing.F) {
	base, _ := proto.Marshal(snapshotOf(baseState()))
	for _, d := range []*tickwirev1.Delta{
		{Tick: 11, BaseTick: 10, Removed: []uint32{2}, Updates: &tickwirev1.EntityUpdates{IdGaps: []uint32{1, 2}, Masks: []uint32{mX | mAngle}, Dx: []int32{5, -5}, Angle: []uint32{1, 2}}},
		{Tick: 11, BaseTick: 10, Updates: &tickwirev1.EntityUpdates{All: true, Masks: []uint32{mY}, Dy: []int32{1, 2, 3, 4}}},
		{Tick: 11, BaseTick: 10, Created: &tickwirev1.EntityColumns{Ids: []uint32{4, 9}, Kinds: []uint32{2, 2}, X: []int32{1, 2}, Y: []int32{3, 4}, Angle: []uint32{0, 0}, Value: []int32{0, 7}}},
		{Tick: 11, BaseTick: 10, PlayersLeft: []uint32{2}, PlayersJoined: []*tickwirev1.Player{{Id: 7, Name: "cy", EntityId: 3}}, ScorePlayers: []uint32{7}, Scores: []int64{-1}},
		{Tick: 12, BaseTick: 10, AckPlayers: []uint32{1, 2}, AckSeqs: []uint32{9, 9}, Phase: ended, EndTick: 12},
		{Tick: 10, BaseTick: 10},
		{Tick: 11, BaseTick: 10, Updates: &tickwirev1.EntityUpdates{IdGaps: []uint32{1, 0}, Masks: []uint32{mX}, Dx: []int32{1, 1}}},
		{Tick: 11, BaseTick: 10, Updates: &tickwirev1.EntityUpdates{IdGaps: []uint32{5, ^uint32(0) - 2}, Masks: []uint32{mX}, Dx: []int32{1, 1}}},
	} {
		b, _ := proto.Marshal(d)
		f.Add(base, b, false)
		f.Add([]byte(nil), b, true)
	}
	f.Fuzz(func(t *testing.T, snap, delta []byte, rebase bool) {
		m := syncedMirror(t)
		var s tickwirev1.Snapshot
		if len(snap) > 0 && proto.Unmarshal(snap, &s) == nil {
			synced, err := applyFixed(m, func(m *Mirror) error { return m.ApplySnapshot(&s) }, func(c uint32) { s.Checksum = c })
			if err != nil {
				return // FuzzMirrorSnapshot's business
			}
			m = synced
		}
		var d tickwirev1.Delta
		if proto.Unmarshal(delta, &d) != nil {
			return
		}
		if rebase {
			d.BaseTick = m.Tick()
			if d.Tick <= d.BaseTick && d.BaseTick < ^uint64(0) {
				d.Tick = d.BaseTick + 1
			}
		}
		want := modelOf(m.State())
		ok := want.delta(&d, m.PlayerID(), m.hasSelf)
		got, err := applyFixed(m, func(m *Mirror) error { return m.ApplyDelta(&d) }, func(c uint32) { d.Checksum = c })
		if err != nil {
			if ok {
				t.Fatalf("refused an allowed delta %v: %v", &d, err)
			}
			if got.Synced() || !(errors.Is(err, ErrMalformed) || errors.Is(err, ErrBaseTick)) {
				t.Fatalf("refused with %v, synced %v", err, got.Synced())
			}
			if again := got.ApplyDelta(&d); !errors.Is(again, ErrNotSynced) {
				t.Fatalf("a delta after a refused one: %v, want ErrNotSynced", again)
			}
			return
		}
		if !ok {
			t.Fatalf("applied a delta the protocol refuses: %v", &d)
		}
		checkMirror(t, got, want)
	})
}

const fuzzHandshake = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"

// FuzzInflateConn reads arbitrary server bytes through the inflater: it must
// not panic or hang, never hand gws more than it asked for, and never inflate
// a message past its limit.
func FuzzInflateConn(f *testing.F) {
	f.Add(frame(wsFIN|wsRSV1|0x2, deflateMessage(f, []byte("small"))), uint8(7))
	f.Add(frame(wsFIN|0x2, []byte("plain")), uint8(1))
	f.Add(append(frame(wsRSV1|0x2, deflateMessage(f, []byte("ab"))), frame(wsFIN|0x9, []byte("p"))...), uint8(3))
	f.Add(frame(wsFIN|wsRSV1|0x2, deflateMessage(f, bytes.Repeat([]byte{'x'}, 9000))), uint8(200))
	f.Add([]byte{0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint8(0))
	f.Add([]byte{0xc2, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff}, uint8(2))
	const limit = 4096
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		c := newInflateConn(&rawConn{r: strings.NewReader(fuzzHandshake + string(stream)), chunk: int(chunk) + 1}, limit)
		var out bytes.Buffer
		p := make([]byte, 512)
		for {
			n, err := c.Read(p)
			if n < 0 || n > len(p) {
				t.Fatalf("Read returned %d for a %d-byte buffer", n, len(p))
			}
			out.Write(p[:n])
			if err != nil {
				break
			}
			if n == 0 {
				t.Fatal("Read returned 0 bytes and no error")
			}
			// Each compressed message inflates to at most limit bytes and
			// takes at least a 2-byte header, so the output is bounded.
			if out.Len() > len(fuzzHandshake)+len(stream)*(limit+maxFrameHeader) {
				t.Fatalf("%d bytes out of %d in", out.Len(), len(stream))
			}
		}
	})
}

// FuzzInflateRoundTrip compresses a message as a server does, splits it
// into fragments at fuzzed places (with a ping among them) and checks that
// gws is handed exactly the message, or that one over the limit is refused.
func FuzzInflateRoundTrip(f *testing.F) {
	f.Add([]byte("arena state"), []byte{3}, uint8(7), true)
	f.Add([]byte{}, []byte{}, uint8(0), false)
	f.Add(bytes.Repeat([]byte("0123456789"), 500), []byte{1, 2, 200, 0}, uint8(255), true)
	f.Add(bytes.Repeat([]byte{0}, 5000), []byte{}, uint8(64), false)
	const limit = 4096
	f.Fuzz(func(t *testing.T, msg, cuts []byte, chunk uint8, text bool) {
		op := byte(0x2)
		if text {
			op = 0x1
		}
		z := deflateMessage(t, msg)
		var in bytes.Buffer
		in.WriteString(fuzzHandshake)
		rest, first := z, true
		for i := 0; ; i++ {
			n := len(rest)
			if i < len(cuts) {
				n = min(n, int(cuts[i]))
			}
			b0 := byte(wsContinuation)
			if first {
				b0 = wsRSV1 | op
			}
			if n == len(rest) {
				b0 |= wsFIN
			}
			in.Write(frame(b0, rest[:n]))
			rest, first = rest[n:], false
			if len(rest) == 0 && b0&wsFIN != 0 {
				break
			}
			if i == 0 {
				in.Write(frame(wsFIN|0x9, []byte("ping")))
			}
		}
		c := newInflateConn(&rawConn{r: bytes.NewReader(in.Bytes()), chunk: int(chunk) + 1}, limit)
		got, err := io.ReadAll(c)
		if len(z) > limit || len(msg) > limit {
			if !errors.Is(err, errInflatedTooLarge) {
				t.Fatalf("%d bytes (%d compressed): error %v, want errInflatedTooLarge", len(msg), len(z), err)
			}
			return
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		_, frames := readFrames(t, bytes.NewReader(got))
		var data []plainFrame
		for _, fr := range frames {
			if fr.b0&wsOpcode != 0x9 {
				data = append(data, fr)
			}
		}
		if len(data) != 1 || data[0].b0 != wsFIN|op || data[0].payload != string(msg) {
			t.Fatalf("frames %v, want one of %d bytes with opcode %d", frames, len(msg), op)
		}
	})
}
