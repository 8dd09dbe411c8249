package bots

import (
	"cmp"
	"errors"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lxzan/gws"
	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/proto/tickwirev1"
)

// fakeServer is a small Tickwire server on loopback for the bots' own tests,
// written from the protocol alone: rooms of orbs that drift east, avatars that
// move with their player's input, a point for every player every 10 ticks,
// and a MatchEnd after matchTicks. It compresses frames of 64 bytes and more.
type fakeServer struct {
	t    testing.TB
	url  string
	opts fakeOptions

	mu    sync.Mutex // guards rooms
	rooms map[string]*fakeRoom
	wg    sync.WaitGroup // room goroutines
	stop  chan struct{}
	// heard receives what the server read from the bots, for a test that
	// listens; what does not fit is not kept.
	heard chan heardFrame
}

// heardFrame is one frame a fakeServer read: an input's seq, a pong's
// payload, or a close frame's code.
type heardFrame struct {
	seq   uint32
	pong  string
	close uint16
}

func (s *fakeServer) hear(f heardFrame) {
	select {
	case s.heard <- f:
	default:
	}
}

type fakeOptions struct {
	tickRate   uint32
	matchTicks uint64 // 0: endless
	maxPlayers int    // 0: unlimited
	// corruptAt, if set, is a tick whose delta reaches each room's player 1
	// with a wrong checksum.
	corruptAt uint64
}

type fakeSession struct {
	conn   *gws.Conn
	room   *fakeRoom
	player uint32
	// Guarded by room.mu.
	welcomed     bool
	needSnapshot bool
	left         bool
	lastSeq      uint32
	dx, dy       int64
}

type fakeRoom struct {
	id    string
	srv   *fakeServer
	tick0 time.Time

	mu       sync.Mutex // guards sessions and the session fields marked so
	sessions []*fakeSession

	// Owned by the room goroutine; read by tests after it has stopped.
	tick       uint64
	phase      tickwirev1.MatchPhase
	endTick    uint64
	entities   []Entity
	players    []Player
	acked      map[uint32]uint32
	nextEntity uint32
	nextPlayer uint32
	checksums  map[uint64]uint32
	final      *tickwirev1.MatchEnd
	done       chan struct{}
}

func newFakeServer(t testing.TB, opts fakeOptions) *fakeServer {
	s := &fakeServer{t: t, opts: opts, rooms: map[string]*fakeRoom{}, stop: make(chan struct{}), heard: make(chan heardFrame, 256)}
	up := gws.NewUpgrader(&fakeHandler{srv: s}, &gws.ServerOption{
		PermessageDeflate: gws.PermessageDeflate{Enabled: true, Threshold: 64},
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		conn, err := up.Upgrade(w, r)
		if err != nil {
			return
		}
		go conn.ReadLoop()
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: mux}
	go func() { _ = hs.Serve(ln) }()
	s.url = "ws://" + ln.Addr().String()
	t.Cleanup(func() {
		close(s.stop)
		s.wg.Wait()
		_ = hs.Close()
	})
	return s
}

func (s *fakeServer) room(id string) *fakeRoom {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rooms[id]
}

type fakeHandler struct {
	gws.BuiltinEventHandler
	srv *fakeServer
	// sessions maps a connection to its session once joined.
	sessions sync.Map
}

func (h *fakeHandler) OnMessage(conn *gws.Conn, msg *gws.Message) {
	defer func() { _ = msg.Close() }()
	var f tickwirev1.ClientFrame
	if msg.Opcode != gws.OpcodeBinary || proto.Unmarshal(msg.Bytes(), &f) != nil {
		sendError(conn, tickwirev1.ErrorCode_ERROR_CODE_BAD_FRAME)
		return
	}
	v, joined := h.sessions.Load(conn)
	if j := f.GetJoin(); j != nil && !joined {
		if s := h.srv.join(conn, j); s != nil {
			h.sessions.Store(conn, s)
		}
		return
	}
	if !joined {
		sendError(conn, tickwirev1.ErrorCode_ERROR_CODE_BAD_FRAME)
		return
	}
	s := v.(*fakeSession)
	s.room.mu.Lock()
	defer s.room.mu.Unlock()
	switch body := f.GetBody().(type) {
	case *tickwirev1.ClientFrame_Input:
		h.srv.hear(heardFrame{seq: body.Input.GetSeq()})
		if body.Input.GetSeq() > s.lastSeq {
			s.lastSeq = body.Input.GetSeq()
			if v := body.Input.GetValues(); len(v) == 2 {
				s.dx, s.dy = unzigzag(v[0]), unzigzag(v[1])
			}
		}
	case *tickwirev1.ClientFrame_Resync:
		s.needSnapshot = true
	case *tickwirev1.ClientFrame_Leave:
		s.left = true
	}
}

func (h *fakeHandler) OnPong(_ *gws.Conn, payload []byte) {
	h.srv.hear(heardFrame{pong: string(payload)})
}

func (h *fakeHandler) OnClose(conn *gws.Conn, err error) {
	if ce := (*gws.CloseError)(nil); errors.As(err, &ce) {
		h.srv.hear(heardFrame{close: ce.Code})
	}
	if v, ok := h.sessions.Load(conn); ok {
		s := v.(*fakeSession)
		s.room.mu.Lock()
		s.left = true
		s.room.mu.Unlock()
	}
}

func sendError(conn *gws.Conn, code tickwirev1.ErrorCode) {
	send(conn, &tickwirev1.ServerFrame{Body: &tickwirev1.ServerFrame_Error{Error: &tickwirev1.Error{
		Code: code, Message: code.String(),
	}}})
	_ = conn.WriteClose(4000+uint16(code), nil)
}

func send(conn *gws.Conn, f *tickwirev1.ServerFrame) {
	b, err := proto.Marshal(f)
	if err != nil {
		panic(err)
	}
	_ = conn.WriteMessage(gws.OpcodeBinary, b)
}

// join seats a new session in its room; it is welcomed at the next tick.
func (s *fakeServer) join(conn *gws.Conn, j *tickwirev1.Join) *fakeSession {
	s.mu.Lock()
	r := s.rooms[j.GetRoomId()]
	if r == nil {
		r = &fakeRoom{
			id: j.GetRoomId(), srv: s, tick0: time.Now(), phase: tickwirev1.MatchPhase_MATCH_PHASE_WAITING,
			acked: map[uint32]uint32{}, nextEntity: 1, nextPlayer: 1, checksums: map[uint64]uint32{},
			done: make(chan struct{}),
		}
		for i := range 8 {
			r.entities = append(r.entities, orb(r.nextEntity, int64(i)*1700, int64(i)*1300))
			r.nextEntity++
		}
		r.checksums[0] = sum(State{Entities: r.entities, Room: room(0)})
		s.rooms[r.id] = r
		s.wg.Add(1)
		go r.run()
	}
	s.mu.Unlock()

	r.mu.Lock()
	defer r.mu.Unlock()
	if s.opts.maxPlayers > 0 && len(r.sessions) >= s.opts.maxPlayers {
		sendError(conn, tickwirev1.ErrorCode_ERROR_CODE_ROOM_FULL)
		return nil
	}
	if r.final != nil {
		sendError(conn, tickwirev1.ErrorCode_ERROR_CODE_MATCH_ENDED)
		return nil
	}
	sess := &fakeSession{conn: conn, room: r}
	r.sessions = append(r.sessions, sess)
	return sess
}

func (r *fakeRoom) run() {
	defer r.srv.wg.Done()
	defer close(r.done)
	t := time.NewTicker(time.Second / time.Duration(r.srv.opts.tickRate))
	defer t.Stop()
	for {
		select {
		case <-r.srv.stop:
			return
		case <-t.C:
		}
		if r.step() {
			return
		}
	}
}

// step runs one tick and sends its frames; it reports whether the match ended.
func (r *fakeRoom) step() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	opts := r.srv.opts
	before := r.current()
	r.tick++

	// Leaves: avatar and player go.
	var stay []*fakeSession
	for _, s := range r.sessions {
		if !s.left {
			stay = append(stay, s)
			continue
		}
		if s.welcomed {
			p := r.players[r.playerIndex(s.player)]
			r.entities = slices.DeleteFunc(r.entities, func(e Entity) bool { return e.ID == p.EntityID })
			r.players = slices.DeleteFunc(r.players, func(q Player) bool { return q.ID == p.ID })
		}
		_ = s.conn.WriteClose(1000, nil)
	}
	r.sessions = stay

	r.moveEntities()

	// Joins: a new avatar and player, welcomed after this tick.
	var welcome []*fakeSession
	for _, s := range r.sessions {
		if s.welcomed {
			continue
		}
		s.player = r.nextPlayer
		r.nextPlayer++
		e := av(r.nextEntity, 8000, int64(s.player)*1000, 0, "p")
		r.nextEntity++
		r.entities = append(r.entities, e)
		r.players = append(r.players, player(s.player, "p", e.ID, 0, int64(s.player%2)))
		welcome = append(welcome, s)
	}

	if r.tick%10 == 0 && r.phase == tickwirev1.MatchPhase_MATCH_PHASE_RUNNING {
		for i := range r.players {
			r.players[i].Score += int64(r.players[i].ID)
		}
	}
	if r.phase == tickwirev1.MatchPhase_MATCH_PHASE_WAITING {
		r.phase, r.endTick = tickwirev1.MatchPhase_MATCH_PHASE_RUNNING, opts.matchTicks
	}
	ended := opts.matchTicks > 0 && r.tick >= opts.matchTicks
	if ended {
		r.phase = tickwirev1.MatchPhase_MATCH_PHASE_ENDED
	}
	d := deltaOf(before, r.current())
	for _, s := range r.sessions {
		if s.lastSeq != r.acked[s.player] {
			r.acked[s.player] = s.lastSeq
			d.AckPlayers = append(d.AckPlayers, s.player)
			d.AckSeqs = append(d.AckSeqs, s.lastSeq)
		}
	}
	r.checksums[r.tick] = d.Checksum

	deltaFrame := &tickwirev1.ServerFrame{Body: &tickwirev1.ServerFrame_Delta{Delta: d}}
	for _, s := range r.sessions {
		switch {
		case !s.welcomed && slices.Contains(welcome, s):
			s.welcomed = true
			send(s.conn, &tickwirev1.ServerFrame{Body: &tickwirev1.ServerFrame_Welcome{Welcome: &tickwirev1.Welcome{
				PlayerId: s.player, EntityId: r.players[r.playerIndex(s.player)].EntityID, RoomId: r.id,
				TickRate: opts.tickRate, Tick0UnixUs: r.tick0.UnixMicro(), ServerTimeUs: time.Now().UnixMicro(),
				Match: &tickwirev1.MatchInfo{Mode: "fake", DurationTicks: opts.matchTicks}, Snapshot: r.snapshot(s),
				Schema: testWireSchema(),
			}}})
		case s.needSnapshot:
			s.needSnapshot = false
			send(s.conn, &tickwirev1.ServerFrame{Body: &tickwirev1.ServerFrame_Snapshot{Snapshot: r.snapshot(s)}})
		case r.tick == opts.corruptAt && s.player == 1:
			bad := proto.Clone(d).(*tickwirev1.Delta)
			bad.Checksum++
			send(s.conn, &tickwirev1.ServerFrame{Body: &tickwirev1.ServerFrame_Delta{Delta: bad}})
		default:
			send(s.conn, deltaFrame)
		}
	}
	if ended {
		r.endMatch()
	}
	return ended
}

// current is a copy of the room's state, for deltaOf.
func (r *fakeRoom) current() State {
	s := State{Tick: r.tick, Phase: r.phase, EndTick: r.endTick, Room: room(0)}
	for _, e := range r.entities {
		e.Record = e.clone()
		s.Entities = append(s.Entities, e)
	}
	s.Players = slices.Clone(r.players)
	return s
}

// moveEntities moves orbs east and avatars along their input.
func (r *fakeRoom) moveEntities() {
	for i := range r.entities {
		e := &r.entities[i]
		var dx, dy int64
		switch e.Kind {
		case KindOrb:
			dx = 16
		case KindAvatar:
			if s := r.sessionOf(e.ID); s != nil {
				dx, dy = s.dx*80, s.dy*80
			}
		}
		e.Values[0], e.Values[1] = e.Values[0]+dx, e.Values[1]+dy
	}
}

func (r *fakeRoom) sessionOf(entity uint32) *fakeSession {
	for _, s := range r.sessions {
		if s.welcomed && r.players[r.playerIndex(s.player)].EntityID == entity {
			return s
		}
	}
	return nil
}

func (r *fakeRoom) playerIndex(id uint32) int {
	i, _ := slices.BinarySearchFunc(r.players, id, func(p Player, id uint32) int { return cmp.Compare(p.ID, id) })
	return i
}

func (r *fakeRoom) snapshot(s *fakeSession) *tickwirev1.Snapshot {
	snap := snapshotOf(r.current())
	snap.LastInputSeq = r.acked[s.player]
	return snap
}

func (r *fakeRoom) endMatch() {
	ranked := slices.Clone(r.players)
	slices.SortStableFunc(ranked, func(a, b Player) int { return cmp.Compare(b.Score, a.Score) })
	me := &tickwirev1.MatchEnd{Tick: r.tick, Reason: tickwirev1.MatchEndReason_MATCH_END_REASON_TIME_LIMIT,
		Checksum: r.checksums[r.tick]}
	for i, p := range ranked {
		rank := uint32(i + 1)
		if i > 0 && p.Score == ranked[i-1].Score {
			rank = me.Scores[i-1].Rank
		}
		me.Scores = append(me.Scores, &tickwirev1.FinalScore{PlayerId: p.ID, Name: p.Name, Score: p.Score, Rank: rank})
	}
	r.final = me
	for _, s := range r.sessions {
		send(s.conn, &tickwirev1.ServerFrame{Body: &tickwirev1.ServerFrame_MatchEnd{MatchEnd: me}})
		_ = s.conn.WriteClose(1000, nil)
	}
}

// state returns the room's final state once its goroutine has stopped.
func (r *fakeRoom) state(t testing.TB) State {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		t.Fatal("room did not stop")
	}
	return r.current()
}

var errNoTick = errors.New("no checksum recorded at that tick")

// checksumAt returns the room's checksum at tick.
func (r *fakeRoom) checksumAt(tick uint64) (uint32, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sum, ok := r.checksums[tick]
	if !ok {
		return 0, errNoTick
	}
	return sum, nil
}
