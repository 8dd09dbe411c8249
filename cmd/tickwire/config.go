package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A config file sets flags, one "flag-name = value" per line:
//
//	# the public side of the load balancer
//	addr = 0.0.0.0:7350
//	public-url = "wss://play.example.com"
//	modes = 'arena:16:2m, duel:2:1m'
//
// Blank lines and lines starting with # are ignored; so is the rest of a line
// from a # that starts the value or follows whitespace. A value may be quoted: "..." takes Go escapes
// (\", \n, \x00), '...' is taken as written. Quote a value that has leading or
// trailing spaces, a " #", or starts with a quote.

// configEntry is one setting of a config file.
type configEntry struct {
	Name  string
	Value string
	Line  int // 1-based line number in the file
}

var configKey = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// parseConfig reads a config file's contents. It checks the syntax and
// refuses a key set twice; which keys exist is for the caller to say. Errors
// name file and line as "file:line: ...".
func parseConfig(file string, data []byte) ([]configEntry, error) {
	var out []configEntry
	first := map[string]int{}
	data = bytes.TrimPrefix(data, []byte("\ufeff")) // a byte-order mark some editors write
	for i, line := range strings.Split(string(data), "\n") {
		n := i + 1
		line = strings.TrimSpace(strings.TrimSuffix(line, "\r"))
		if line == "" || line[0] == '#' {
			continue
		}
		key, rest, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want flag-name = value, got %q", file, n, line)
		}
		key = strings.TrimSpace(key)
		if !configKey.MatchString(key) {
			return nil, fmt.Errorf("%s:%d: %q is not a flag name (lower-case letters, digits and -, without the leading --)", file, n, key)
		}
		value, err := configValue(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %s: %w", file, n, key, err)
		}
		if at, dup := first[key]; dup {
			return nil, fmt.Errorf("%s:%d: %s is set twice (first on line %d)", file, n, key, at)
		}
		first[key] = n
		out = append(out, configEntry{Name: key, Value: value, Line: n})
	}
	return out, nil
}

// configValue reads the value part of a line, already trimmed.
func configValue(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	var value, tail string
	switch s[0] {
	case '"':
		end := closingQuote(s)
		if end < 0 {
			return "", fmt.Errorf("unterminated quote in %s", s)
		}
		v, err := strconv.Unquote(s[:end+1])
		if err != nil {
			return "", fmt.Errorf("bad quoted value %s: %w", s[:end+1], err)
		}
		value, tail = v, s[end+1:]
	case '\'':
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			return "", fmt.Errorf("unterminated quote in %s", s)
		}
		value, tail = s[1:end+1], s[end+2:]
	default:
		if i := commentStart(s); i >= 0 {
			s = strings.TrimSpace(s[:i])
		}
		return s, nil
	}
	if tail = strings.TrimSpace(tail); tail != "" && tail[0] != '#' {
		return "", fmt.Errorf("unexpected %q after the quoted value", tail)
	}
	return value, nil
}

// closingQuote is the index of the quote that ends the "..." string s starts
// with, or -1.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// commentStart is the index of a # that starts an unquoted value or follows
// whitespace in it, or -1.
func commentStart(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t') {
			return i
		}
	}
	return -1
}

// formatConfig writes entries as a config file that parseConfig reads back to
// the same names and values.
func formatConfig(entries []configEntry) []byte {
	var b bytes.Buffer
	for _, e := range entries {
		b.WriteString(e.Name)
		b.WriteString(" = ")
		if needsQuotes(e.Value) {
			b.WriteString(strconv.Quote(e.Value))
		} else {
			b.WriteString(e.Value)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func needsQuotes(v string) bool {
	if v == "" {
		return false
	}
	if strings.TrimSpace(v) != v || v[0] == '"' || v[0] == '\'' || commentStart(v) >= 0 || !utf8.ValidString(v) {
		return true
	}
	for _, r := range v {
		if r < ' ' || r == 0x7f || !strconv.IsPrint(r) {
			return true
		}
	}
	return false
}

// configFlag adds --config (TICKWIRE_CONFIG for serve, TICKWIRE_BOTS_CONFIG
// for bots; see envOf) to fs: parseFlags then reads the
// file it names.
func configFlag(fs *flag.FlagSet) {
	fs.String("config", "", "file of flag-name = value lines; the command line and the environment override it")
}

// applyConfig sets every flag the file names that neither the command line nor
// the environment set (those are in set).
func applyConfig(fs *flag.FlagSet, file string, set map[string]bool) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	entries, err := parseConfig(file, data)
	if err != nil {
		return err
	}
	for _, e := range entries {
		f := fs.Lookup(e.Name)
		switch {
		case e.Name == "config":
			return fmt.Errorf("%s:%d: a config file cannot name another config file", file, e.Line)
		case f == nil:
			return fmt.Errorf("%s:%d: unknown key %q: 'tickwire %s --help' lists the flags", file, e.Line, e.Name, fs.Name())
		case set[e.Name]:
			continue
		}
		if err := fs.Set(e.Name, e.Value); err != nil {
			return fmt.Errorf("%s:%d: %s = %q: %w", file, e.Line, e.Name, e.Value, err)
		}
	}
	return nil
}
