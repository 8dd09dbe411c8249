package wsframe

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"unicode/utf8"
)

// Opcodes (RFC 6455, section 5.2).
const (
	OpContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xa
)

// Bits of a header's first two bytes.
const (
	FinBit  = 0x80
	RSV1Bit = 0x40 // permessage-deflate: the message is compressed (RFC 7692)
	RSV2Bit = 0x20
	RSV3Bit = 0x10
	OpMask  = 0x0f
	MaskBit = 0x80 // in the second byte: a masking key follows the length
)

// MaxHeaderLen is the longest frame header: two bytes, a 64-bit length and a
// masking key.
const MaxHeaderLen = 14

// MaxControlPayload is the largest payload of a control frame (close, ping,
// pong).
const MaxControlPayload = 125

// Header is one frame header.
type Header struct {
	Fin    bool
	RSV    byte // the RSV1-3 bits as they sit in the first byte (0x70 mask)
	Op     byte
	Masked bool
	Key    [4]byte // the masking key, if Masked
	Length uint64  // payload length
}

// Control reports whether the frame is a control frame (close, ping, pong
// or a reserved control opcode).
func (h Header) Control() bool { return h.Op&0x8 != 0 }

// Compressed reports whether RSV1, permessage-deflate's "compressed" bit,
// is set.
func (h Header) Compressed() bool { return h.RSV&RSV1Bit != 0 }

// Errors of ParseHeader.
var (
	// ErrShort means more bytes are needed; HeaderLen says how many.
	ErrShort = errors.New("wsframe: header incomplete")
	// ErrLength is a 64-bit payload length with its top bit set, which RFC
	// 6455 forbids (a reader that took it as signed would see it negative).
	ErrLength = errors.New("wsframe: 64-bit payload length with the most significant bit set")
)

// HeaderLen is the length of a header whose second byte is b1.
func HeaderLen(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&MaskBit != 0 {
		n += 4
	}
	return n
}

// ParseHeader parses the header at the start of b and returns it with its
// length in bytes. With fewer bytes than the header needs it returns
// ErrShort (HeaderLen of the second byte says how many it needs). It checks
// only what the encoding itself forbids; what a peer may send is the
// caller's policy. Hot path: every frame read; it allocates nothing.
func ParseHeader(b []byte) (Header, int, error) {
	if len(b) < 2 {
		return Header{}, 0, ErrShort
	}
	n := HeaderLen(b[1])
	if len(b) < n {
		return Header{}, 0, ErrShort
	}
	h := Header{
		Fin:    b[0]&FinBit != 0,
		RSV:    b[0] & (RSV1Bit | RSV2Bit | RSV3Bit),
		Op:     b[0] & OpMask,
		Masked: b[1]&MaskBit != 0,
		Length: uint64(b[1] & 0x7f),
	}
	i := 2
	switch h.Length {
	case 126:
		h.Length, i = uint64(binary.BigEndian.Uint16(b[2:])), 4
	case 127:
		h.Length, i = binary.BigEndian.Uint64(b[2:]), 10
		if h.Length > math.MaxInt64 {
			return Header{}, 0, ErrLength
		}
	}
	if h.Masked {
		copy(h.Key[:], b[i:i+4])
	}
	return h, n, nil
}

// AppendHeader appends h in its shortest encoding. Hot path: every frame
// written; it allocates nothing when b has room.
func AppendHeader(b []byte, h Header) []byte {
	b0 := h.Op&OpMask | h.RSV&(RSV1Bit|RSV2Bit|RSV3Bit)
	if h.Fin {
		b0 |= FinBit
	}
	var m byte
	if h.Masked {
		m = MaskBit
	}
	switch n := h.Length; {
	case n < 126:
		b = append(b, b0, m|byte(n))
	case n <= math.MaxUint16:
		b = binary.BigEndian.AppendUint16(append(b, b0, m|126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, b0, m|127), n)
	}
	if h.Masked {
		b = append(b, h.Key[:]...)
	}
	return b
}

// Mask XORs b with key in place, b being the payload bytes from offset pos
// on, and returns the offset after b: masking is its own inverse, and a
// payload may be (un)masked in pieces as it arrives. Hot path.
func Mask(b []byte, key [4]byte, pos int) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return pos + len(b)
}

// FrameInPlace frames a payload built in place: b is MaxHeaderLen bytes of
// room, then the payload. It writes h, with Length set to the payload's
// length, at the end of the room, masks the payload with h.Key if h.Masked,
// and returns the frame, a suffix of b. A sender marshals straight after
// the room and sends the frame without copying it. Hot path: every frame a
// bot writes; it allocates nothing.
func FrameInPlace(b []byte, h Header) []byte {
	payload := b[MaxHeaderLen:]
	h.Length = uint64(len(payload))
	var room [MaxHeaderLen]byte
	hdr := AppendHeader(room[:0], h)
	start := MaxHeaderLen - len(hdr)
	copy(b[start:], hdr)
	if h.Masked {
		Mask(payload, h.Key, 0)
	}
	return b[start:]
}

// NewMaskKey returns a masking key for a client frame. RFC 6455 (section
// 5.3) wants each frame's key fresh and unpredictable, so that a script
// cannot choose the bytes an intermediary sees; math/rand/v2's generator is
// ChaCha8 seeded by the system per thread, which is that, at a few
// nanoseconds and no state per connection, where crypto/rand would cost a
// system call's worth per frame.
func NewMaskKey() [4]byte {
	var k [4]byte
	binary.LittleEndian.PutUint32(k[:], rand.Uint32())
	return k
}

// AppendFrame appends a whole frame: h with its Length set to len(payload),
// then payload, masked with h.Key if h.Masked.
func AppendFrame(b []byte, h Header, payload []byte) []byte {
	h.Length = uint64(len(payload))
	b = AppendHeader(b, h)
	start := len(b)
	b = append(b, payload...)
	if h.Masked {
		Mask(b[start:], h.Key, 0)
	}
	return b
}

// Close codes of RFC 6455, section 7.4.1, the ones a server sends.
const (
	CloseNormal        = 1000
	CloseGoingAway     = 1001
	CloseProtocolError = 1002
	CloseUnsupported   = 1003
	CloseInvalidData   = 1007 // e.g. a text or close reason that is not UTF-8, a corrupt deflate stream
	ClosePolicy        = 1008
	CloseTooLarge      = 1009
	CloseInternalError = 1011
)

// maxCloseReason is the longest reason that fits a close frame beside its code.
const maxCloseReason = MaxControlPayload - 2

// AppendClose appends a close frame's payload: code, big-endian, then reason,
// cut at a character boundary to fit a control frame, so that it stays
// valid UTF-8 if it was.
func AppendClose(b []byte, code uint16, reason string) []byte {
	if len(reason) > maxCloseReason {
		cut := maxCloseReason
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	return append(binary.BigEndian.AppendUint16(b, code), reason...)
}

// ErrCloseCode is a close payload of one byte, or with a code a peer may not
// send.
var ErrCloseCode = errors.New("wsframe: invalid close code")

// ErrCloseReason is a close reason that is not UTF-8.
var ErrCloseReason = errors.New("wsframe: close reason is not UTF-8")

// ParseClose reads a close frame's payload. An empty payload is a close
// without a code (code 0). It returns ErrCloseCode for one byte or a code
// that RFC 6455 (section 7.4) does not let an endpoint send, and
// ErrCloseReason for a reason that is not UTF-8; the reason aliases p.
func ParseClose(p []byte) (code uint16, reason []byte, err error) {
	switch {
	case len(p) == 0:
		return 0, nil, nil
	case len(p) == 1:
		return 0, nil, fmt.Errorf("%w: a close payload of one byte", ErrCloseCode)
	}
	code, reason = binary.BigEndian.Uint16(p), p[2:]
	if !SendableCloseCode(code) {
		return code, reason, fmt.Errorf("%w: %d", ErrCloseCode, code)
	}
	if !utf8.Valid(reason) {
		return code, reason, ErrCloseReason
	}
	return code, reason, nil
}

// SendableCloseCode reports whether an endpoint may put code in a close
// frame: the defined codes except those reserved for reporting (1004-1006,
// 1015), and the 3000-4999 ranges for libraries and applications.
func SendableCloseCode(code uint16) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// PeekHeader parses the header of the next frame in br without consuming
// it: it returns the header and its length, for the caller to Discard (or
// to copy the raw header out of Peek first). br's buffer must hold
// MaxHeaderLen bytes. Hot path: it allocates nothing.
func PeekHeader(br *bufio.Reader) (Header, int, error) {
	b, err := br.Peek(2)
	if err != nil {
		return Header{}, 0, err
	}
	if b, err = br.Peek(HeaderLen(b[1])); err != nil {
		return Header{}, 0, err
	}
	return ParseHeader(b)
}
