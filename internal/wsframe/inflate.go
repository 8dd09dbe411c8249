package wsframe

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
)

// deflateTail completes a permessage-deflate message for an inflater: the
// 00 00 ff ff sync-flush marker the sender stripped (RFC 7692, section
// 7.2.2), then an empty final block so that the inflater ends with io.EOF.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// Errors of Inflate.
var (
	// ErrTooLarge is a message that inflates to more than the limit.
	ErrTooLarge = errors.New("wsframe: message inflates past the limit")
	// ErrCorrupt is a payload that is not a deflate stream.
	ErrCorrupt = errors.New("wsframe: corrupt deflate stream")
)

// inflater is a pooled flate reader with the readers it reads through, so
// that an Inflate allocates nothing once warm.
type inflater struct {
	r    io.ReadCloser
	src  bytes.Reader
	tail bytes.Reader
	both twoReaders
}

// twoReaders is io.MultiReader for two byte readers, without allocating. It
// is an io.ByteReader, so flate reads it as it is instead of through a
// bufio.Reader of its own.
type twoReaders struct{ a, b *bytes.Reader }

func (t *twoReaders) Read(p []byte) (int, error) {
	if n, err := t.a.Read(p); n > 0 || err != io.EOF {
		return n, err
	}
	return t.b.Read(p)
}

func (t *twoReaders) ReadByte() (byte, error) {
	if c, err := t.a.ReadByte(); err == nil {
		return c, nil
	}
	return t.b.ReadByte()
}

var inflaters = sync.Pool{New: func() any {
	f := &inflater{r: flate.NewReader(nil)}
	f.both = twoReaders{&f.src, &f.tail}
	return f
}}

// Inflate appends to dst the inflated form of src, one permessage-deflate
// message without context takeover (every message inflates on its own). It
// stops with ErrTooLarge once more than limit bytes came out, so a small
// "bomb" costs at most limit bytes, and returns ErrCorrupt (wrapping the
// flate error) for bytes that are not deflate data. On error dst is
// returned as it was.
func Inflate(dst, src []byte, limit int) ([]byte, error) {
	f := inflaters.Get().(*inflater)
	defer inflaters.Put(f)
	f.src.Reset(src)
	f.tail.Reset(deflateTail)
	if err := f.r.(flate.Resetter).Reset(&f.both, nil); err != nil {
		return dst, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)] // grow
		}
		room := dst[len(dst):cap(dst)]
		if over := start + limit + 1 - len(dst); len(room) > over {
			room = room[:over] // read one byte past the limit at most
		}
		n, err := f.r.Read(room)
		dst = dst[:len(dst)+n]
		if len(dst)-start > limit {
			return dst[:start], fmt.Errorf("%w of %d bytes", ErrTooLarge, limit)
		}
		switch {
		case err == io.EOF:
			return dst, nil
		case err != nil:
			return dst[:start], fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
	}
}

// compressor is a pooled flate writer of one level.
type compressor struct {
	level int
	w     *flate.Writer
	buf   bytes.Buffer
}

// compressors are shared by the whole process; one of another level than
// asked is dropped and a new one made.
var compressors sync.Pool

// Deflate appends to dst src compressed as one permessage-deflate message
// without context takeover: a sync flush at level, its 00 00 ff ff tail
// stripped (RFC 7692, section 7.2.1). An invalid level falls back to
// flate.BestSpeed.
func Deflate(dst, src []byte, level int) []byte {
	c, ok := compressors.Get().(*compressor)
	if !ok || c.level != level {
		w, err := flate.NewWriter(nil, level)
		if err != nil {
			w, _ = flate.NewWriter(nil, flate.BestSpeed)
		}
		c = &compressor{level: level, w: w}
	}
	defer compressors.Put(c)
	c.buf.Reset()
	c.w.Reset(&c.buf)
	_, _ = c.w.Write(src)
	_ = c.w.Flush()
	out := c.buf.Bytes()
	return append(dst, out[:len(out)-4]...)
}
