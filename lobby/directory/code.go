package directory

import "crypto/rand"

// codeAlphabet leaves out letters and digits people confuse: I, L, O, 0, 1.
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// codeLen gives 31^6, about 887 million, codes: a collision among live rooms
// is rare, and Create reports it with ErrCodeTaken.
const codeLen = 6

// NewCode returns a random 6-character join code from an alphabet without
// look-alike characters, for a private room.
func NewCode() string {
	// Bytes of 248 and up are rejected so that every character is equally
	// likely: 248 is the largest multiple of 31 that fits in a byte.
	const limit = 256 - 256%len(codeAlphabet)
	var out [codeLen]byte
	var buf [16]byte
	for n := 0; n < codeLen; {
		rand.Read(buf[:])
		for _, b := range buf {
			if int(b) < limit && n < codeLen {
				out[n] = codeAlphabet[int(b)%len(codeAlphabet)]
				n++
			}
		}
	}
	return string(out[:])
}
