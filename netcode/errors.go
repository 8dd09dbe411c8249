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
	if !s.failed.CompareAndSwap(false, true) {
		return false
	}
	s.env.stats.errors.Add(1)
	if c := s.env.stats.of(code); c != nil {
		c.Add(1)
	}
	b, _ := proto.Marshal(&pb.ServerFrame{Body: &pb.ServerFrame_Error{Error: &pb.Error{Code: code, Message: msg}}})
	f := newFrame(b, 0)
	s.send(f)
	f.release()
	s.close(CloseCode(code), code.String())
	return true
}
