package bots

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/proto/tickwirev1"
)

func cloneMirror(m *Mirror) *Mirror {
	c := *m
	st := m.State()
	c.entities, c.players, c.room = st.Entities, st.Players, st.Room
	c.recs, c.shapes = nil, nil
	return &c
}

// checkMirror checks a mirror that reports success: its checksum is its
// state's, and the state survives the trip through the protocol's reference
// encoding (a snapshot of it, and a delta to it from before) unchanged.
func checkMirror(t *testing.T, m *Mirror, before *State) {
	t.Helper()
	if !m.Synced() {
		t.Fatal("applied without error but not synced")
	}
	st := m.State()
	if m.Checksum() != sum(st) {
		t.Fatalf("checksum %#x, state has %#x", m.Checksum(), sum(st))
	}
	for i := 1; i < len(st.Entities); i++ {
		if st.Entities[i].ID <= st.Entities[i-1].ID {
			t.Fatalf("entities not ascending: %v", st.Entities)
		}
	}
	var fresh Mirror
	fresh.SetSchema(testSchema)
	fresh.SetSelf(m.PlayerID(), m.entityID)
	if err := fresh.ApplySnapshot(snapshotOf(st)); err != nil {
		t.Fatalf("snapshot of the applied state: %v", err)
	}
	if got := fresh.State(); fmt.Sprintf("%v", got) != fmt.Sprintf("%v", st) { // nil and empty slices alike
		t.Fatalf("state through a snapshot:\n got %+v\nwant %+v", got, st)
	}
	if before == nil {
		return
	}
	var again Mirror
	again.SetSchema(testSchema)
	again.SetSelf(m.PlayerID(), m.entityID)
	if err := again.ApplySnapshot(snapshotOf(*before)); err != nil {
		t.Fatalf("snapshot of the state before: %v", err)
	}
	d := deltaOf(*before, st)
	d.AckPlayers, d.AckSeqs = []uint32{m.PlayerID()}, []uint32{st.LastInputSeq}
	if err := again.ApplyDelta(d); err != nil {
		t.Fatalf("reference delta to the applied state: %v", err)
	}
	if got := again.State(); fmt.Sprintf("%v", got) != fmt.Sprintf("%v", st) {
		t.Fatalf("state through the reference delta:\n got %+v\nwant %+v", got, st)
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
// must not panic, must refuse with ErrMalformed (and then report not synced)
// or hold a state whose own snapshot reads back the same.
func FuzzMirrorSnapshot(f *testing.F) {
	for _, s := range []*tickwirev1.Snapshot{
		snapshotOf(baseState()),
		{Tick: 1},
		{Entities: &tickwirev1.EntityColumns{Ids: []uint32{2, 1}, Kinds: []uint32{2, 2}, Values: []uint64{0, 0, 0, 0}}},
		{Entities: &tickwirev1.EntityColumns{Ids: []uint32{1}, Kinds: []uint32{1}}},
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
		m, err := applyFixed(base, func(m *Mirror) error { return m.ApplySnapshot(&s) }, func(c uint32) { s.Checksum = c })
		if err != nil {
			if m.Synced() || !errors.Is(err, ErrMalformed) {
				t.Fatalf("refused with %v, synced %v", err, m.Synced())
			}
			return
		}
		checkMirror(t, m, nil)
	})
}

// FuzzMirrorDelta applies arbitrary Delta bytes to a mirror synced to a
// (fuzzed) snapshot, and checks it as FuzzMirrorSnapshot does, and that the
// reference delta from the state before reaches the same state. rebase puts
// the delta on the mirror's tick, which arbitrary bytes would rarely hit.
func FuzzMirrorDelta(f *testing.F) {
	base, _ := proto.Marshal(snapshotOf(baseState()))
	for _, d := range []*tickwirev1.Delta{
		{Tick: 11, BaseTick: 10, Removed: []uint32{2}, Updates: &tickwirev1.EntityUpdates{IdGaps: []uint32{1, 2}, Masks: []uint64{mX | mY}, Values: []uint64{5, 6, 7}}},
		{Tick: 11, BaseTick: 10, Updates: &tickwirev1.EntityUpdates{All: true, Masks: []uint64{mY}, Values: []uint64{1, 2, 3, 4}}},
		{Tick: 11, BaseTick: 10, Updates: &tickwirev1.EntityUpdates{IdGaps: []uint32{1}, Masks: []uint64{mHeading | mTag}, Values: []uint64{9}, Texts: []string{"t"}}},
		{Tick: 11, BaseTick: 10, Created: &tickwirev1.EntityColumns{Ids: []uint32{4, 9}, Kinds: []uint32{2, 1}, Values: []uint64{1, 2, 3, 4, 5}, Texts: []string{"x"}}},
		{Tick: 11, BaseTick: 10, PlayersLeft: []uint32{2}, PlayersJoined: []*tickwirev1.Player{{Id: 7, Name: "cy", EntityId: 3, Values: []uint64{1}}}, ScorePlayers: []uint32{7}, Scores: []int64{-1}},
		{Tick: 11, BaseTick: 10, PlayerUpdates: &tickwirev1.EntityUpdates{All: true, Masks: []uint64{1}, Values: []uint64{0, 1}}, Room: &tickwirev1.FieldValues{Mask: 1, Values: []uint64{3}}},
		{Tick: 12, BaseTick: 10, AckPlayers: []uint32{1, 2}, AckSeqs: []uint32{9, 9}, Phase: ended, EndTick: 12},
		{Tick: 10, BaseTick: 10},
		{Tick: 11, BaseTick: 10, Updates: &tickwirev1.EntityUpdates{IdGaps: []uint32{1, 0}, Masks: []uint64{mX}, Values: []uint64{1, 1}}},
		{Tick: 11, BaseTick: 10, Updates: &tickwirev1.EntityUpdates{IdGaps: []uint32{5, ^uint32(0) - 2}, Masks: []uint64{mX}, Values: []uint64{1, 1}}},
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
		before := m.State()
		got, err := applyFixed(m, func(m *Mirror) error { return m.ApplyDelta(&d) }, func(c uint32) { d.Checksum = c })
		if err != nil {
			if got.Synced() || !(errors.Is(err, ErrMalformed) || errors.Is(err, ErrBaseTick)) {
				t.Fatalf("refused with %v, synced %v", err, got.Synced())
			}
			if again := got.ApplyDelta(&d); !errors.Is(again, ErrNotSynced) {
				t.Fatalf("a delta after a refused one: %v, want ErrNotSynced", again)
			}
			return
		}
		checkMirror(t, got, &before)
	})
}

// FuzzInflateConn reads arbitrary server bytes as a bot does: it must not
// panic or hang, and never hand on a message past its limit.
func FuzzInflateConn(f *testing.F) {
	f.Add(frame(wsFIN|wsRSV1|0x2, deflateMessage(f, []byte("small"))), uint8(7))
	f.Add(frame(wsFIN|0x2, []byte("plain")), uint8(1))
	f.Add(append(frame(wsRSV1|0x2, deflateMessage(f, []byte("ab"))), frame(wsFIN|0x9, []byte("p"))...), uint8(3))
	f.Add(frame(wsFIN|wsRSV1|0x2, deflateMessage(f, bytes.Repeat([]byte{'x'}, 9000))), uint8(200))
	f.Add([]byte{0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint8(0))
	f.Add([]byte{0xc2, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff}, uint8(2))
	const limit = 4096
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		frames, err := readAll(&rawConn{r: bytes.NewReader(stream), chunk: int(chunk) + 1}, nil, limit)
		if err == nil {
			t.Fatal("the read ended without a reason")
		}
		for _, fr := range frames {
			if len(fr.payload) > limit {
				t.Fatalf("a message of %d bytes handed on, limit %d", len(fr.payload), limit)
			}
		}
	})
}

// FuzzInflateRoundTrip compresses a message as a server does, splits it
// into fragments at fuzzed places (with a ping among them) and checks that
// the bot is handed exactly the message, or that one over the limit is
// refused.
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
		frames, err := readAll(&rawConn{r: bytes.NewReader(in.Bytes()), chunk: int(chunk) + 1}, nil, limit)
		if len(z) > limit || len(msg) > limit {
			if !errors.Is(err, errInflatedTooLarge) {
				t.Fatalf("%d bytes (%d compressed): error %v, want errInflatedTooLarge", len(msg), len(z), err)
			}
			return
		}
		if err != io.EOF {
			t.Fatalf("read: %v", err)
		}
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
