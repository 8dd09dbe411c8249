package bots

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"
	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// fakeConn records what a Client sends instead of writing to a socket.
type fakeConn struct {
	mu     sync.Mutex
	frames []*tickwirev1.ClientFrame
}

func (f *fakeConn) writeMessage(m proto.Message) error {
	p, err := proto.Marshal(m)
	if err != nil {
		return err
	}
	var cf tickwirev1.ClientFrame
	if err := proto.Unmarshal(p, &cf); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frames = append(f.frames, &cf)
	return nil
}

func (f *fakeConn) writePong([]byte) error { return nil }

func (f *fakeConn) writeClose(uint16) error { return nil }

func (f *fakeConn) sent() []*tickwirev1.ClientFrame {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*tickwirev1.ClientFrame(nil), f.frames...)
}

// testClient is a Client welcomed into baseState at tick 10 (20 ticks per
// second, tick 0 at tick0), its frames going to a fakeConn.
func testClient(t *testing.T, tick0 time.Time) (*Client, *fakeConn) {
	t.Helper()
	c, err := newClient(Config{URL: "ws://127.0.0.1:1", RoomID: "r", Name: "n", Behaviour: Chase{}})
	if err != nil {
		t.Fatal(err)
	}
	fc := &fakeConn{}
	c.writer = fc
	c.joinStart = tick0
	c.handle(t, &tickwirev1.ServerFrame{Body: &tickwirev1.ServerFrame_Welcome{
		Welcome: &tickwirev1.Welcome{
			Schema: testWireSchema(), PlayerId: 1, EntityId: 1, RoomId: "r", TickRate: 20, Tick0UnixUs: tick0.UnixMicro(),
			Snapshot: snapshotOf(baseState()),
		}}}, tick0.Add(500*time.Millisecond))
	return c, fc
}

// handle feeds one frame through the same path as the read loop.
func (c *Client) handle(t *testing.T, f *tickwirev1.ServerFrame, now time.Time) {
	t.Helper()
	b, err := proto.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	c.handleMessage(gws.OpcodeBinary, b, now)
}

func deltaFrame(d *tickwirev1.Delta) *tickwirev1.ServerFrame {
	return &tickwirev1.ServerFrame{Body: &tickwirev1.ServerFrame_Delta{Delta: d}}
}

// emptyDelta moves the base state from tick base to tick.
func emptyDelta(tick, base uint64) *tickwirev1.ServerFrame {
	return deltaFrame(&tickwirev1.Delta{Tick: tick, BaseTick: base, Checksum: baseState().Checksum})
}

func TestClientAppliesDeltasAndCounts(t *testing.T) {
	tick0 := time.Unix(1_700_000_000, 0)
	c, fc := testClient(t, tick0)
	at := func(tick uint64, late time.Duration) time.Time {
		return tick0.Add(time.Duration(tick)*50*time.Millisecond + late)
	}
	c.handle(t, emptyDelta(11, 10), at(11, time.Millisecond))
	c.handle(t, emptyDelta(12, 11), at(12, 2*time.Millisecond))
	c.handle(t, emptyDelta(15, 12), at(15, 3*time.Millisecond)) // the server skipped 13 and 14
	c.handle(t, deltaFrame(&tickwirev1.Delta{Tick: 16, BaseTick: 15, AckPlayers: []uint32{1}, AckSeqs: []uint32{2},
		Checksum: baseState().Checksum}), at(16, 4*time.Millisecond))

	s := c.Stats()
	if s.Deltas != 4 || s.Updates != 4 || s.FramesMissed != 2 || s.Desyncs != 0 || s.FramesReceived != 5 {
		t.Errorf("deltas %d updates %d missed %d desyncs %d frames %d, want 4, 4, 2, 0, 5",
			s.Deltas, s.Updates, s.FramesMissed, s.Desyncs, s.FramesReceived)
	}
	if p50 := s.Latency.Quantile(0.5); s.Latency.Count() != 4 || p50 < 1940*time.Microsecond || p50 > 2060*time.Microsecond ||
		s.Latency.Max() != 4*time.Millisecond {
		t.Errorf("latency: %d samples, p50 %v, max %v; want 4, 2ms, 4ms",
			s.Latency.Count(), s.Latency.Quantile(0.5), s.Latency.Max())
	}
	if s.JoinTime != 500*time.Millisecond || s.LastAckedSeq != 2 || s.PlayerID != 1 || s.TickRate != 20 {
		t.Errorf("join time %v acked %d player %d rate %d", s.JoinTime, s.LastAckedSeq, s.PlayerID, s.TickRate)
	}
	if st := c.State(); st.Tick != 16 || st.Checksum != baseState().Checksum {
		t.Errorf("mirror at tick %d checksum %#x", st.Tick, st.Checksum)
	}
	if len(fc.sent()) != 0 {
		t.Errorf("client sent %v, want nothing", fc.sent())
	}
}

func TestClientResyncsAfterDesync(t *testing.T) {
	for _, tc := range []struct {
		name string
		bad  *tickwirev1.ServerFrame
	}{
		{"base tick mismatch", emptyDelta(13, 12)},
		{"checksum mismatch", deltaFrame(&tickwirev1.Delta{Tick: 12, BaseTick: 11, Checksum: 7})},
		{"malformed", deltaFrame(&tickwirev1.Delta{Tick: 12, BaseTick: 11, Updates: &tickwirev1.EntityUpdates{
			IdGaps: []uint32{1}, Masks: []uint64{mX | mY}, Values: []uint64{1}}})},
		{"undecodable", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tick0 := time.Unix(1_700_000_000, 0)
			now := tick0.Add(time.Second)
			c, fc := testClient(t, tick0)
			c.handle(t, emptyDelta(11, 10), now)
			if tc.bad == nil {
				c.handleMessage(gws.OpcodeBinary, []byte{0xff, 0xff}, now)
				if s := c.Stats(); s.BadFrames != 1 {
					t.Fatalf("bad frames %d, want 1", s.BadFrames)
				}
				// The lost frame shows up as the next delta's wrong base.
				c.handle(t, emptyDelta(13, 12), now)
			} else {
				c.handle(t, tc.bad, now)
			}
			if s := c.Stats(); s.Desyncs != 1 || s.Resyncs != 1 {
				t.Fatalf("desyncs %d resyncs %d, want 1, 1", s.Desyncs, s.Resyncs)
			}
			sent := fc.sent()
			if len(sent) != 1 || sent[0].GetResync() == nil || sent[0].GetResync().GetLastTick() != 11 {
				t.Fatalf("sent %v, want one ResyncRequest{last_tick: 11}", sent)
			}

			// Deltas are ignored until the snapshot arrives, then apply again.
			c.handle(t, emptyDelta(14, 13), now)
			want := baseState()
			want.Tick = 14
			c.handle(t, &tickwirev1.ServerFrame{Body: &tickwirev1.ServerFrame_Snapshot{Snapshot: snapshotOf(want)}}, now)
			c.handle(t, emptyDelta(15, 14), now)
			s := c.Stats()
			if s.DeltasIgnored != 1 || s.Snapshots != 1 || s.Desyncs != 1 || !c.Synced() || c.State().Tick != 15 {
				t.Errorf("ignored %d snapshots %d desyncs %d synced %v tick %d; want 1, 1, 1, true, 15",
					s.DeltasIgnored, s.Snapshots, s.Desyncs, c.Synced(), c.State().Tick)
			}
		})
	}
}

func TestClientRetriesResync(t *testing.T) {
	c, fc := testClient(t, time.Unix(1_700_000_000, 0))
	now := time.Now()
	c.handle(t, emptyDelta(12, 11), now) // desync
	for tick := uint64(13); tick < 13+40; tick++ {
		c.handle(t, emptyDelta(tick, tick-1), now)
	}
	if s := c.Stats(); s.Desyncs != 1 || s.Resyncs != 2 || len(fc.sent()) != 2 {
		t.Errorf("desyncs %d resyncs %d frames sent %d; want 1, 2, 2 (one retry after 2 s of deltas)",
			s.Desyncs, s.Resyncs, len(fc.sent()))
	}
}

func TestClientSendsInputs(t *testing.T) {
	c, fc := testClient(t, time.Unix(1_700_000_000, 0))
	now := time.Now()
	for range 3 {
		if err := c.Act(now); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SendInput(dir(-1, 2)); err != nil {
		t.Fatal(err)
	}
	sent := fc.sent()
	if len(sent) != 4 {
		t.Fatalf("sent %d frames, want 4", len(sent))
	}
	for i, f := range sent {
		if in := f.GetInput(); in == nil || in.GetSeq() != uint32(i+1) {
			t.Fatalf("frame %d = %v, want input seq %d", i, f, i+1)
		}
	}
	// Chase from (100, 200) to the nearest orb at (300, 400).
	if in := sent[0].GetInput(); !slices.Equal(in.GetValues(), []uint64{zz(1), zz(1)}) {
		t.Errorf("chase input = %v, want (1, 1)", in)
	}
	if in := sent[3].GetInput(); !slices.Equal(in.GetValues(), []uint64{zz(-1), zz(2)}) {
		t.Errorf("manual input = %v", in)
	}
	if s := c.Stats(); s.InputsSent != 4 || s.LastSentSeq != 4 {
		t.Errorf("inputs sent %d last seq %d, want 4, 4", s.InputsSent, s.LastSentSeq)
	}

	// After MatchEnd the bot stops sending.
	c.handle(t, &tickwirev1.ServerFrame{Body: &tickwirev1.ServerFrame_MatchEnd{MatchEnd: &tickwirev1.MatchEnd{}}}, now)
	if err := c.Act(now); err != nil || len(fc.sent()) != 4 {
		t.Errorf("Act after MatchEnd = %v, %d frames sent; want nil, 4", err, len(fc.sent()))
	}
}

// TestClientBackpressure: once the socket is full and maxPendingWrites
// frames wait for it, inputs are dropped and counted, not queued.
func TestClientBackpressure(t *testing.T) {
	c, _ := testClient(t, time.Unix(1_700_000_000, 0))
	conn, _ := stalledPair(t)
	w := newWriter(conn, socketOf(conn), c.log)
	c.writer = w
	fill(t, w) // one frame waits
	var dropped int
	for range maxPendingWrites + 2 {
		if err := c.SendInput(Input{}); errors.Is(err, ErrBackpressure) {
			dropped++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if s := c.Stats(); dropped != 3 || s.InputsDropped != 3 || s.LastSentSeq != maxPendingWrites-1 {
		t.Errorf("dropped %d (stats %d), last seq %d; want 3, 3, %d", dropped, s.InputsDropped, s.LastSentSeq, maxPendingWrites-1)
	}
}

func TestClientMatchEnd(t *testing.T) {
	c, _ := testClient(t, time.Unix(1_700_000_000, 0))
	now := time.Now()
	c.handle(t, emptyDelta(11, 10), now)
	c.handle(t, &tickwirev1.ServerFrame{Body: &tickwirev1.ServerFrame_MatchEnd{MatchEnd: &tickwirev1.MatchEnd{
		Tick: 11, Reason: tickwirev1.MatchEndReason_MATCH_END_REASON_TIME_LIMIT, Checksum: baseState().Checksum,
		Scores: []*tickwirev1.FinalScore{{PlayerId: 2, Name: "bob", Score: 4, Rank: 1}, {PlayerId: 1, Name: "ann", Rank: 2}},
	}}}, now)
	c.handle(t, emptyDelta(12, 11), now) // after the window: applied, not counted
	s := c.Stats()
	want := MatchResult{Tick: 11, Reason: tickwirev1.MatchEndReason_MATCH_END_REASON_TIME_LIMIT, Checksum: baseState().Checksum,
		Verified: true, Scores: []FinalScore{{PlayerID: 2, Name: "bob", Score: 4, Rank: 1}, {PlayerID: 1, Name: "ann", Rank: 2}}}
	if s.MatchEnd == nil || s.MatchEnd.Tick != want.Tick || !s.MatchEnd.Verified || len(s.MatchEnd.Scores) != 2 ||
		s.MatchEnd.Scores[0] != want.Scores[0] || s.MatchEnd.Scores[1] != want.Scores[1] {
		t.Errorf("match end = %+v, want %+v", s.MatchEnd, want)
	}
	if s.Updates != 1 || s.Deltas != 2 || s.Desyncs != 0 {
		t.Errorf("updates %d deltas %d desyncs %d, want 1, 2, 0", s.Updates, s.Deltas, s.Desyncs)
	}

	// A MatchEnd checksum that disagrees with the mirror at its tick is a desync.
	c, _ = testClient(t, time.Unix(1_700_000_000, 0))
	c.handle(t, &tickwirev1.ServerFrame{Body: &tickwirev1.ServerFrame_MatchEnd{MatchEnd: &tickwirev1.MatchEnd{
		Tick: 10, Checksum: 1}}}, now)
	if s := c.Stats(); s.Desyncs != 1 || s.MatchEnd.Verified {
		t.Errorf("desyncs %d verified %v, want 1, false", s.Desyncs, s.MatchEnd.Verified)
	}
}

func TestClientOutOfPlaceFrames(t *testing.T) {
	c, err := newClient(Config{URL: "ws://127.0.0.1:1", RoomID: "r", Name: "n"})
	if err != nil {
		t.Fatal(err)
	}
	c.writer = &fakeConn{}
	now := time.Now()
	c.handle(t, emptyDelta(11, 10), now)
	c.handle(t, &tickwirev1.ServerFrame{}, now)
	c.handleMessage(gws.OpcodeText, []byte("hello"), now)
	if s := c.Stats(); s.BadFrames != 3 || s.Deltas != 0 {
		t.Errorf("bad frames %d deltas %d, want 3, 0", s.BadFrames, s.Deltas)
	}
	if err := c.Act(now); err != nil {
		t.Errorf("Act before welcome = %v, want nil (nothing sent)", err)
	}
}

func TestSocketURL(t *testing.T) {
	for in, want := range map[string]string{
		"ws://127.0.0.1:7350":     "ws://127.0.0.1:7350/ws",
		"ws://127.0.0.1:7350/":    "ws://127.0.0.1:7350/ws",
		"https://game.example":    "wss://game.example/ws",
		"ws://node-3:7350/custom": "ws://node-3:7350/custom",
	} {
		if got, err := socketURL(in); err != nil || got != want {
			t.Errorf("socketURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "tcp://x:1", "ws://", "::"} {
		if _, err := socketURL(bad); err == nil {
			t.Errorf("socketURL(%q) succeeded, want an error", bad)
		}
	}
}
