package wsframe

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/klauspost/compress/flate"
)

func TestHeaderRoundTrip(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	for _, tc := range []struct {
		h    Header
		want []byte
	}{
		{Header{Fin: true, Op: OpBinary}, []byte{0x82, 0}},
		{Header{Fin: true, Op: OpBinary, Length: 125}, []byte{0x82, 125}},
		{Header{Fin: true, Op: OpBinary, Length: 126}, []byte{0x82, 126, 0, 126}},
		{Header{Fin: true, Op: OpBinary, Length: 65535}, []byte{0x82, 126, 0xff, 0xff}},
		{Header{Fin: true, Op: OpBinary, Length: 65536}, []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
		{Header{Fin: true, RSV: RSV1Bit, Op: OpBinary, Length: 3}, []byte{0xc2, 3}},
		{Header{Op: OpText, Masked: true, Key: key, Length: 5}, []byte{0x01, 0x85, 1, 2, 3, 4}},
		{Header{Fin: true, Op: OpClose, Masked: true, Key: key, Length: 300}, []byte{0x88, 0xfe, 1, 44, 1, 2, 3, 4}},
	} {
		got := AppendHeader(nil, tc.h)
		if !bytes.Equal(got, tc.want) {
			t.Errorf("%+v encodes as % x, want % x", tc.h, got, tc.want)
		}
		if n := HeaderLen(got[1]); n != len(got) {
			t.Errorf("%+v: HeaderLen %d, want %d", tc.h, n, len(got))
		}
		back, n, err := ParseHeader(got)
		if err != nil || n != len(got) || back != tc.h {
			t.Errorf("% x parses as %+v, %d, %v; want %+v", got, back, n, err, tc.h)
		}
		if _, _, err := ParseHeader(got[:len(got)-1]); !errors.Is(err, ErrShort) {
			t.Errorf("% x cut short: %v, want ErrShort", got[:len(got)-1], err)
		}
	}
}

func TestParseHeaderRefusesNegativeLength(t *testing.T) {
	for _, b := range [][]byte{
		{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4},
		{0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
	} {
		if _, _, err := ParseHeader(b); !errors.Is(err, ErrLength) {
			t.Errorf("% x: %v, want ErrLength", b, err)
		}
	}
}

func TestMaskInPieces(t *testing.T) {
	key := [4]byte{0x5a, 0x17, 0xc3, 0x88}
	msg := []byte("a payload masked in uneven pieces")
	whole := AppendFrame(nil, Header{Fin: true, Op: OpBinary, Masked: true, Key: key}, msg)
	h, n, err := ParseHeader(whole)
	if err != nil || h.Length != uint64(len(msg)) {
		t.Fatalf("header %+v, %v", h, err)
	}
	p := whole[n:]
	pos := 0
	for _, cut := range []int{1, 5, 2, 30} {
		cut = min(cut, len(p)-pos)
		pos = Mask(p[pos:pos+cut], h.Key, pos)
	}
	if !bytes.Equal(p, msg) {
		t.Fatalf("unmasked %q, want %q", p, msg)
	}
}

func TestClosePayload(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		code    uint16
		err     error
	}{
		{"empty", nil, 0, nil},
		{"code only", []byte{0x03, 0xe8}, 1000, nil},
		{"code and reason", append([]byte{0x0f, 0xa1}, "REPLACED"...), 4001, nil},
		{"one byte", []byte{0x03}, 0, ErrCloseCode},
		{"reserved 1005", []byte{0x03, 0xed}, 1005, ErrCloseCode},
		{"reserved 1006", []byte{0x03, 0xee}, 1006, ErrCloseCode},
		{"unassigned 2000", []byte{0x07, 0xd0}, 2000, ErrCloseCode},
		{"over 4999", []byte{0x13, 0x88}, 5000, ErrCloseCode},
		{"reason not utf-8", []byte{0x03, 0xe8, 0xff, 0xfe}, 1000, ErrCloseReason},
		{"cut rune", []byte{0x03, 0xe8, 0xc3}, 1000, ErrCloseReason},
	} {
		code, _, err := ParseClose(tc.payload)
		if code != tc.code || !errors.Is(err, tc.err) {
			t.Errorf("%s: code %d, %v; want %d, %v", tc.name, code, err, tc.code, tc.err)
		}
	}
	// A long reason is cut to fit a control frame, never inside a character.
	long := strings.Repeat("é", 100) // 200 bytes
	p := AppendClose(nil, CloseNormal, long)
	if len(p) > MaxControlPayload {
		t.Fatalf("close payload of %d bytes", len(p))
	}
	if _, _, err := ParseClose(p); err != nil {
		t.Fatalf("cut reason: %v", err)
	}
}

// deflate compresses msg as a permessage-deflate sender does.
func deflate(_ testing.TB, msg []byte) []byte { return Deflate(nil, msg, flate.BestSpeed) }

func TestInflate(t *testing.T) {
	msg := bytes.Repeat([]byte("tickwire "), 500) // 4500 bytes
	z := deflate(t, msg)
	got, err := Inflate([]byte("x"), z, len(msg))
	if err != nil || !bytes.Equal(got[1:], msg) || got[0] != 'x' {
		t.Fatalf("inflate: %v (%d bytes)", err, len(got))
	}
	if got, err := Inflate([]byte("x"), z, len(msg)-1); !errors.Is(err, ErrTooLarge) || string(got) != "x" {
		t.Fatalf("one byte over the limit: %q, %v; want ErrTooLarge and dst unchanged", got, err)
	}
	if got := Deflate(nil, msg, 99); !bytes.Equal(must(Inflate(nil, got, len(msg))), msg) {
		t.Fatal("an invalid level does not deflate at best speed")
	}
	if _, err := Inflate(nil, []byte{0xff, 0xff, 0xff, 0x00, 0x12}, 100); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("garbage: %v, want ErrCorrupt", err)
	}
	if got, err := Inflate(nil, deflate(t, nil), 0); err != nil || len(got) != 0 {
		t.Fatalf("empty message: %q, %v", got, err)
	}
	// A bomb: 10 MB of zeros deflate to about 10 KB; it stops at the limit.
	bomb := deflate(t, make([]byte, 10<<20))
	if _, err := Inflate(make([]byte, 0, 4096), bomb, 4096); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("bomb: %v, want ErrTooLarge", err)
	}
}

// BenchmarkHeader is the per-frame header work of a read and a write: it must
// not allocate.
func BenchmarkHeader(b *testing.B) {
	b.ReportAllocs()
	key := [4]byte{1, 2, 3, 4}
	buf := make([]byte, 0, MaxHeaderLen)
	payload := make([]byte, 40)
	for b.Loop() {
		buf = AppendHeader(buf[:0], Header{Fin: true, Op: OpBinary, Masked: true, Key: key, Length: uint64(len(payload))})
		h, _, err := ParseHeader(buf)
		if err != nil {
			b.Fatal(err)
		}
		Mask(payload, h.Key, 0)
	}
}

func BenchmarkInflate(b *testing.B) {
	b.ReportAllocs()
	z := deflate(b, bytes.Repeat([]byte("input 1 2 3 "), 20))
	dst := make([]byte, 0, 4096)
	for b.Loop() {
		var err error
		if dst, err = Inflate(dst[:0], z, 4096); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleAppendFrame() {
	// A masked client frame carrying "hi".
	f := AppendFrame(nil, Header{Fin: true, Op: OpBinary, Masked: true, Key: [4]byte{1, 2, 3, 4}}, []byte("hi"))
	h, n, _ := ParseHeader(f)
	p := f[n:]
	Mask(p, h.Key, 0)
	fmt.Printf("op %d, %d bytes: %s\n", h.Op, h.Length, p)
	// Output: op 2, 2 bytes: hi
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestPeekHeader(t *testing.T) {
	f := AppendFrame(nil, Header{Fin: true, Op: OpBinary, Masked: true, Key: [4]byte{9, 9, 9, 9}}, make([]byte, 300))
	br := bufio.NewReaderSize(&oneByte{f}, 16)
	h, n, err := PeekHeader(br)
	if err != nil || n != 8 || h.Length != 300 || br.Buffered() < n {
		t.Fatalf("%+v, %d, %v", h, n, err)
	}
	if _, _, err := PeekHeader(bufio.NewReader(bytes.NewReader(f[:3]))); !errors.Is(err, io.EOF) {
		t.Fatalf("cut header: %v, want EOF", err)
	}
}

// oneByte reads one byte at a time.
type oneByte struct{ b []byte }

func (o *oneByte) Read(p []byte) (int, error) {
	if len(o.b) == 0 {
		return 0, io.EOF
	}
	p[0], o.b = o.b[0], o.b[1:]
	return 1, nil
}

func TestFrameInPlace(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 65535, 65536} {
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = byte(i * 7)
		}
		for _, h := range []Header{
			{Fin: true, Op: OpBinary},
			{Fin: true, Op: OpBinary, Masked: true, Key: NewMaskKey()},
			{Fin: true, Op: OpClose, Masked: true, Key: [4]byte{0xff, 0, 0x80, 1}},
		} {
			b := append(make([]byte, MaxHeaderLen), payload...)
			f := FrameInPlace(b, h)
			if want := AppendFrame(nil, h, payload); !bytes.Equal(f, want) {
				t.Fatalf("%d bytes, %+v: FrameInPlace differs from AppendFrame", n, h)
			}
			got, hlen, err := ParseHeader(f)
			if err != nil || got.Length != uint64(n) || got.Masked != h.Masked || got.Key != h.Key || got.Op != h.Op || !got.Fin {
				t.Fatalf("%d bytes, %+v: parses as %+v, %v", n, h, got, err)
			}
			p := f[hlen:]
			if got.Masked {
				Mask(p, got.Key, 0)
			}
			if !bytes.Equal(p, payload) {
				t.Fatalf("%d bytes, %+v: payload does not come back", n, h)
			}
		}
	}
}

func TestNewMaskKeyVaries(t *testing.T) {
	seen := map[[4]byte]bool{}
	for range 64 {
		seen[NewMaskKey()] = true
	}
	if len(seen) < 60 { // 64 draws of 32 bits: a repeat is a one in a million event
		t.Fatalf("64 keys, %d distinct", len(seen))
	}
}

// BenchmarkFrameInPlace is the framing of one bot input: it must not
// allocate.
func BenchmarkFrameInPlace(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, MaxHeaderLen+20)
	for b.Loop() {
		FrameInPlace(buf, Header{Fin: true, Op: OpBinary, Masked: true, Key: NewMaskKey()})
	}
}
