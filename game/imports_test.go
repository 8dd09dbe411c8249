package game

import (
	"go/build"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/tickwire/tickwire"

// The engine imports no package of ours (DESIGN.md: dependencies point one
// way, and game is the bottom), and a game built on it (game/arena and the
// others under game/) imports the engine alone: a game is written on the
// public API a developer has, nothing internal. Test files may import more,
// and so may game/gametest, the harness a game's own tests and benchmarks
// use: it encodes a game's ticks with netcode's encoder, as a room does.
func TestEngineImportsNoPackageOfOurs(t *testing.T) {
	dirs := 0
	err := filepath.WalkDir(".", func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		pkg, err := build.ImportDir(dir, 0)
		if _, none := err.(*build.NoGoError); none {
			return nil
		}
		if err != nil {
			return err
		}
		dirs++
		for _, imp := range pkg.Imports {
			if imp != module && !strings.HasPrefix(imp, module+"/") {
				continue
			}
			if dir == "." {
				t.Errorf("the engine (package game) imports %s; it must import no package of ours", imp)
			} else if imp != module+"/game" && !(dir == "gametest" && imp == module+"/netcode") {
				t.Errorf("game/%s imports %s; a game may import %s/game only", filepath.ToSlash(dir), imp, module)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if dirs < 2 {
		t.Fatalf("checked %d packages; want the engine and its games", dirs)
	}
}
