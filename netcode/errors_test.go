package netcode

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	pb "github.com/tickwire/tickwire/proto/tickwirev1"
)

// TestProtocolErrorTable checks PROTOCOL.md's table of errors against the
// schema: every ErrorCode, and nothing else, with its name and close code.
func TestProtocolErrorTable(t *testing.T) {
	doc, err := os.ReadFile("../PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| (\\d+) \\| `([A-Z_]+)` \\| (\\d+) \\|")
	documented := map[int32]string{}
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		code, _ := strconv.Atoi(m[1])
		closeCode, _ := strconv.Atoi(m[3])
		documented[int32(code)] = m[2]
		if want := CloseCode(pb.ErrorCode(code)); closeCode != int(want) {
			t.Errorf("PROTOCOL.md: %s closes with %d, the server with %d", m[2], closeCode, want)
		}
	}
	for code, name := range pb.ErrorCode_name {
		if code == 0 {
			continue
		}
		if got, want := documented[code], strings.TrimPrefix(name, "ERROR_CODE_"); got != want {
			t.Errorf("PROTOCOL.md lists code %d as %q, the schema as %q", code, got, want)
		}
		delete(documented, code)
	}
	for code, name := range documented {
		t.Errorf("PROTOCOL.md lists %s (%d), which the schema does not have", name, code)
	}
}
