// Package names holds the one rule every display name that enters Tickwire
// follows, wherever it enters: a game socket's Join, a lobby ticket or seat,
// a leaderboard submission.
//
// A name is refused, never rewritten: a player whose name the server changed
// silently would see one name while others see another, and a sanitised name
// can collide with someone else's. The rule, in order:
//
//   - it is valid UTF-8;
//   - leading and trailing white space (Unicode White_Space) is trimmed;
//   - it holds no control character (Cc: NUL, ESC and so the ANSI escapes,
//     newlines, tabs, DEL, C1), no format character (Cf: zero-width spaces
//     and joiners, bidi marks, embeddings, overrides and isolates, the BOM,
//     the soft hyphen), no line or paragraph separator (Zl, Zp), no private
//     use character (Co) and no noncharacter (U+FDD0..U+FDEF, U+xFFFE/F);
//   - it is at most Max characters (code points, not bytes) long.
//
// An empty name (after trimming) is allowed: the caller picks a default.
package names

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Max is the longest name, in characters (code points).
const Max = 32

// MaxBytes is the longest name in bytes that Check can return: Max
// characters of up to 4 bytes each.
const MaxBytes = Max * utf8.UTFMax

// ErrInvalid is wrapped by every error Check returns.
var ErrInvalid = errors.New("invalid name")

// Check trims name and returns it, or an error wrapping ErrInvalid that says
// what is wrong in words a player can act on.
func Check(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: name is not valid UTF-8", ErrInvalid)
	}
	name = strings.TrimSpace(name)
	n := 0
	for _, r := range name {
		if forbidden(r) {
			return "", fmt.Errorf("%w: name must not hold control, format, zero-width or bidi characters (found %U)", ErrInvalid, r)
		}
		n++
	}
	if n > Max {
		return "", fmt.Errorf("%w: name is %d characters; at most %d", ErrInvalid, n, Max)
	}
	return name, nil
}

// forbidden reports whether r may not appear in a name.
func forbidden(r rune) bool {
	if r < 0x7f {
		return r < 0x20 // the common case: printable ASCII
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co) || noncharacter(r)
}

// noncharacter reports the code points Unicode reserves for internal use.
func noncharacter(r rune) bool {
	return (r >= 0xfdd0 && r <= 0xfdef) || r&0xfffe == 0xfffe
}
