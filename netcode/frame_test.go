package netcode

import (
	"bytes"
	"io"
	"testing"

	"github.com/klauspost/compress/flate"
)

func TestFrameCompressInflatesBack(t *testing.T) {
	payload := bytes.Repeat([]byte("tickwire delta "), 40)
	f := newFrame(payload, 7)
	defer f.release()
	f.compress(flate.BestSpeed)
	d := f.bytesFor(true)
	if d[0] != 0xc2 {
		t.Fatalf("deflated frame header %#x, want RSV1 set", d[0])
	}
	body := d[2:]
	if d[1] == 126 {
		body = d[4:]
	}
	if len(body) >= len(payload) {
		t.Fatalf("compressed %d bytes to %d", len(payload), len(body))
	}
	// A permessage-deflate receiver appends the sync-flush tail and inflates.
	r := flate.NewReader(io.MultiReader(bytes.NewReader(body), bytes.NewReader([]byte{0, 0, 0xff, 0xff})))
	got := make([]byte, len(payload))
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatalf("inflate: %v", err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("inflated payload differs")
	}
	if raw := f.bytesFor(false); raw[0] != 0x82 || !bytes.Equal(raw[4:], payload) {
		t.Fatal("raw form is not the uncompressed payload")
	}
}

func TestFrameTinyPayloadStaysRaw(t *testing.T) {
	f := newFrame([]byte{1, 2, 3}, 1)
	defer f.release()
	f.compress(flate.BestSpeed)
	if got := f.bytesFor(true); got[0] != 0x82 {
		t.Fatalf("3-byte payload sent with header %#x; deflate cannot shrink it", got[0])
	}
}
