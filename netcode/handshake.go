package netcode

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/game"
	"github.com/tickwire/tickwire/internal/names"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// dispatch decodes one binary client frame and acts on it; FuzzDispatch drives
// it with arbitrary bytes. Hot path: every client input.
func (s *Server) dispatch(sess *session, b []byte) {
	if h := sess.hub.Load(); h != nil {
		if in, ok := decodeInput(b, &h.codec.input); ok {
			s.input(sess, in)
			return
		}
	}
	if sess.hub.Load() == nil {
		// Before the join: the join's work runs on a stack of its own.
		onFreshStack(func() { s.decodeAndHandle(sess, b) })
		return
	}
	s.decodeAndHandle(sess, b)
}

func (s *Server) decodeAndHandle(sess *session, b []byte) {
	var f pb.ClientFrame
	if err := proto.Unmarshal(b, &f); err != nil {
		sess.fail(pb.ErrorCode_ERROR_CODE_BAD_FRAME, "frame is not a ClientFrame: "+err.Error())
		return
	}
	s.handle(sess, &f)
}

// onFreshStack runs f on a goroutine of its own and waits for it, passing
// on its panic. A join (the protobuf decoding, the ticket's check, the room
// lookup) needs a deep stack once; run on the connection's read goroutine it
// would grow that goroutine's stack for the connection's life, since a stack
// shrinks only at a GC, which a server in steady state seldom runs: about
// 4 KiB a client joined through the lobby.
func onFreshStack(f func()) {
	var panicked any
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() { panicked = recover() }()
		f()
	}()
	<-done
	if panicked != nil {
		panic(panicked)
	}
}

func (s *Server) handle(sess *session, f *pb.ClientFrame) {
	h := sess.hub.Load()
	switch body := f.Body.(type) {
	case *pb.ClientFrame_Join:
		if h != nil || !sess.joining.CompareAndSwap(false, true) {
			sess.fail(pb.ErrorCode_ERROR_CODE_BAD_FRAME, "already joined")
			return
		}
		s.join(sess, body.Join)
	case *pb.ClientFrame_Input:
		if sess.spectator.Load() {
			s.refuseSpectator(sess, "an input")
			return
		}
		if h == nil { // join still in flight: nothing to steer yet
			return
		}
		in, err := h.codec.input.inputFromWire(body.Input)
		if err != nil {
			sess.fail(pb.ErrorCode_ERROR_CODE_BAD_FRAME, err.Error())
			return
		}
		s.input(sess, in)
	case *pb.ClientFrame_Message:
		s.message(sess, h, body.Message)
	case *pb.ClientFrame_Chat:
		s.chat(sess, h, body.Chat.GetText())
	case *pb.ClientFrame_Ping:
		var tick uint64
		if h != nil {
			tick = sess.delivered.Load()
		}
		pong := &pb.ServerFrame{Body: &pb.ServerFrame_Pong{Pong: &pb.Pong{
			ClientTimeUs: body.Ping.ClientTimeUs, ServerTimeUs: time.Now().UnixMicro(), ServerTick: tick,
		}}}
		pf := newFrame(marshal(pong), 0)
		sess.send(pf)
		pf.release()
	case *pb.ClientFrame_Leave:
		// The seat is freed now, not when the socket closes, so a join
		// right after can take it.
		sess.left.Store(true)
		if h != nil {
			h.room.Do(func(sim *game.Sim) { h.drop(sim, sess, true) })
		}
		sess.close(closeNormal, "left")
	case *pb.ClientFrame_Resync:
		if h == nil {
			sess.fail(pb.ErrorCode_ERROR_CODE_BAD_FRAME, "resync before join")
			return
		}
		sess.resync.Store(true)
	default:
		sess.fail(pb.ErrorCode_ERROR_CODE_BAD_FRAME, "empty or unknown frame body")
	}
}

// input hands a client's input to its room.
func (s *Server) input(sess *session, in game.Input) {
	if sess.spectator.Load() {
		s.refuseSpectator(sess, "an input")
		return
	}
	h := sess.hub.Load()
	if h == nil { // join still in flight: nothing to steer yet
		return
	}
	if !h.room.Input(sess.playerID(), in) {
		s.stats.inputsDropped.Add(1)
	}
}

// message hands a client's game message to its room.
func (s *Server) message(sess *session, h *hub, m *pb.GameMessage) {
	switch {
	case sess.spectator.Load():
		s.refuseSpectator(sess, "a game message")
		return
	case h == nil: // join still in flight, as for inputs
		return
	case !h.takesMessages:
		sess.fail(pb.ErrorCode_ERROR_CODE_BAD_FRAME, "this room's game takes no game messages")
		return
	case m.Op == 0:
		sess.fail(pb.ErrorCode_ERROR_CODE_BAD_FRAME, "game message op 0: op codes start at 1")
		return
	}
	if !h.room.Message(sess.playerID(), game.Message{Op: m.Op, Data: m.Data}) {
		s.stats.inputsDropped.Add(1)
	}
}

func (s *Server) join(sess *session, j *pb.Join) {
	if j.ProtocolVersion != uint32(pb.ProtocolVersion_PROTOCOL_VERSION_2) {
		sess.fail(pb.ErrorCode_ERROR_CODE_UNSUPPORTED_VERSION, fmt.Sprintf("protocol version %d is not supported; this server speaks 2", j.ProtocolVersion))
		return
	}
	if !validRoomID(j.RoomId) {
		sess.fail(pb.ErrorCode_ERROR_CODE_BAD_FRAME, "room id must be 1 to 64 characters of A-Z a-z 0-9 . _ : -")
		return
	}
	if j.ResumeToken != "" { // a held seat is taken back even while draining
		if j.Spectate {
			sess.fail(pb.ErrorCode_ERROR_CODE_BAD_FRAME, "a spectator has no seat to resume: send spectate or resume_token, not both")
			return
		}
		s.resume(sess, j)
		return
	}
	// A spectator may watch a draining node's rooms play out: it takes no
	// seat and starts no room.
	if s.rooms.draining.Load() && !j.Spectate {
		sess.fail(pb.ErrorCode_ERROR_CODE_SERVER_SHUTDOWN, "server is draining: it takes no new players; ask the lobby for another node")
		return
	}
	name, err := cleanName(j.Name)
	if err != nil {
		sess.fail(pb.ErrorCode_ERROR_CODE_BAD_FRAME, err.Error())
		return
	}
	g, no := s.admission.admit(j, name)
	if no != nil {
		sess.fail(no.code, no.msg)
		return
	}
	if j.Spectate {
		s.spectate(sess, j.RoomId)
		return
	}
	h, _, err := s.rooms.getOrCreate(j.RoomId, g.rules)
	switch {
	case errors.Is(err, ErrFull):
		sess.fail(pb.ErrorCode_ERROR_CODE_ROOM_FULL, "this node runs its maximum of rooms; ask the lobby for a seat elsewhere")
		return
	case err != nil:
		sess.fail(pb.ErrorCode_ERROR_CODE_SERVER_SHUTDOWN, err.Error())
		return
	case h == nil:
		sess.fail(pb.ErrorCode_ERROR_CODE_ROOM_NOT_FOUND, fmt.Sprintf("room %q does not exist", j.RoomId))
		return
	case g.game != "" && h.room.Rules().Mode != g.game:
		sess.fail(pb.ErrorCode_ERROR_CODE_GAME_MISMATCH, fmt.Sprintf("room %q plays %s, not %s: join it naming %s or no game, or name another room", j.RoomId, h.room.Rules().Mode, g.game, h.room.Rules().Mode))
		return
	}
	req := game.JoinRequest{Name: g.name, Account: g.account, Party: g.party, Rating: g.rating, Team: g.team, Attributes: g.attributes}
	if !h.room.Do(func(sim *game.Sim) { h.join(sim, sess, req) }) {
		sess.fail(pb.ErrorCode_ERROR_CODE_MATCH_ENDED, fmt.Sprintf("room %q has ended", j.RoomId))
	}
}

var roomIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

func validRoomID(id string) bool { return roomIDPattern.MatchString(id) }

// cleanName applies the one rule for display names (internal/names); an
// empty name becomes "player".
func cleanName(name string) (string, error) {
	name, err := names.Check(name)
	if name == "" && err == nil {
		name = "player"
	}
	return name, err
}
