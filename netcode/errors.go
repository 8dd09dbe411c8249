package netcode

import (
	"errors"

	"google.golang.org/protobuf/proto"

	"github.com/tickwire/tickwire/game"
	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// WebSocket close codes the server uses besides the 4xxx ones.
const (
	closeNormal    = 1000
	closeGoingAway = 1001
	// closeInternalError ends a connection whose goroutine panicked.
	closeInternalError = 1011
	// closeMessageTooLarge is what gws closes with for a frame over its
	// ReadMaxPayloadSize.
	closeMessageTooLarge = 1009
)

// closeCodeBase is added to an ErrorCode to make its close code: ROOM_FULL (4)
// closes with 4004.
const closeCodeBase = 4000

// CloseCode is the WebSocket close code that follows an Error frame with code c.
func CloseCode(c pb.ErrorCode) uint16 { return closeCodeBase + uint16(c) }

func errorCode(err error) pb.ErrorCode {
	switch {
	case errors.Is(err, game.ErrRoomFull):
		return pb.ErrorCode_ERROR_CODE_ROOM_FULL
	case errors.Is(err, game.ErrMatchEnded), errors.Is(err, game.ErrRoomStopped):
		return pb.ErrorCode_ERROR_CODE_MATCH_ENDED
	case errors.Is(err, game.ErrAlreadySeated):
		return pb.ErrorCode_ERROR_CODE_ALREADY_SEATED
	case errors.Is(err, game.ErrPlayerGone):
		return pb.ErrorCode_ERROR_CODE_RESUME_EXPIRED
	}
	return pb.ErrorCode_ERROR_CODE_INTERNAL
}

// fail sends an Error frame and then closes with the matching 4xxx code. Only
// the first fail of a session does anything; it reports whether this was it.
// It counts the error before the client can see it.
func (s *session) fail(code pb.ErrorCode, msg string) bool {
	return s.failWith(&pb.Error{Code: code, Message: msg})
}

// failWith is fail with a whole Error frame (a game's refusal has a reason).
func (s *session) failWith(e *pb.Error) bool {
	if !s.failed.CompareAndSwap(false, true) {
		return false
	}
	s.env.stats.errors.Add(1)
	if c := s.env.stats.of(e.Code); c != nil {
		c.Add(1)
	}
	b, _ := proto.Marshal(&pb.ServerFrame{Body: &pb.ServerFrame_Error{Error: e}})
	f := newFrame(b, 0)
	s.send(f)
	f.release()
	s.close(CloseCode(e.Code), e.Code.String())
	return true
}

// failJoin refuses a join with the error the room gave: a game's Refusal
// travels as JOIN_REFUSED with the game's code and words.
func (s *session) failJoin(err error) {
	var r *game.Refusal
	if errors.As(err, &r) {
		s.failWith(&pb.Error{Code: pb.ErrorCode_ERROR_CODE_JOIN_REFUSED, Message: r.Message, Reason: r.Code})
		return
	}
	s.fail(errorCode(err), err.Error())
}
