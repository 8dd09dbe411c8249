package netcode

// roomID is the id of the room the session joined, or "" before its join:
// for the room field of the session's log events.
func (s *session) roomID() string {
	if h := s.hub.Load(); h != nil {
		return h.room.ID()
	}
	return ""
}
