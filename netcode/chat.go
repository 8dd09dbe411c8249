package netcode

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Chat limits (PROTOCOL.md, "Chat").
const (
	maxChatBytes = 200
	chatBurst    = 5
	chatEvery    = time.Second // one more line per this
)

// chatBucket is a player's chat rate: chatBurst lines, one more per
// chatEvery. Owned by its connection's read goroutine.
type chatBucket struct {
	tokens float64
	last   time.Time
}

func (b *chatBucket) take(now time.Time) bool {
	if b.last.IsZero() {
		b.tokens, b.last = chatBurst, now
	}
	b.tokens = min(chatBurst, b.tokens+now.Sub(b.last).Seconds()/chatEvery.Seconds())
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// cleanChat strips control and format characters (bidi overrides, zero-width
// joiners) and surrounding spaces, and cuts the line to maxChatBytes at a
// character boundary. The text is valid UTF-8: protobuf checked it.
func cleanChat(text string) string {
	text = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, text)
	text = strings.TrimSpace(text)
	if len(text) > maxChatBytes {
		cut := maxChatBytes
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = strings.TrimSpace(text[:cut])
	}
	return text
}

// chat hands a cleaned chat line to the player's room, within its rate.
func (s *Server) chat(sess *session, h *hub, text string) {
	if sess.spectator.Load() {
		s.refuseSpectator(sess, "chat")
		return
	}
	if h == nil { // join still in flight, as for inputs
		return
	}
	text = cleanChat(text)
	if text == "" {
		return
	}
	if !sess.chat.take(time.Now()) || !h.room.Chat(sess.playerID(), text) {
		s.stats.chatDropped.Add(1)
	}
}
