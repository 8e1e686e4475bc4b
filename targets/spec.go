package targets

// This file parses target specs, the way a user names on one command line
// the deployments to measure side by side, the suite's own and their own:
//
//	--targets embedded,cgi,guestbook=cgi:./guestbook.cgi,fcgi-cmd:'php-fpm8.2 -F -y fpm.conf',fcgi-addr:unix:/run/php/php-fpm.sock,url:http://127.0.0.1:8080
//
// A spec is a built-in target name (embedded, cgi, fcgi, a real front such
// as nginx-fcgi) or KIND:VALUE for a user's program; either may carry a
// LABEL= prefix, the name it is shown and recorded under. Commas separate
// specs except inside single or double quotes, which a shell-quoted
// command line needs.

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// SpecKind says what a spec names.
type SpecKind string

// The kinds of spec.
const (
	// SpecNamed is a built-in deployment (Spec.Name).
	SpecNamed SpecKind = "named"
	// SpecCGI is a user's CGI program run per request behind the suite's
	// CGI host (Spec.Path).
	SpecCGI SpecKind = "cgi"
	// SpecFCGICommand is a user's FastCGI daemon that the suite starts
	// (Spec.Argv) and reaches at Spec.Addr, or at a private unix socket
	// it passes as the daemon's last argument when Addr is "".
	SpecFCGICommand SpecKind = "fcgi-cmd"
	// SpecFCGIAddr is a FastCGI daemon already running at Spec.Addr,
	// behind the suite's FastCGI front.
	SpecFCGIAddr SpecKind = "fcgi-addr"
	// SpecURL is an HTTP server already running at Spec.URL.
	SpecURL SpecKind = "url"
)

// Spec is one parsed target spec.
type Spec struct {
	// Label is the name in results, tables and charts: the LABEL= prefix,
	// or one derived from the spec (the built-in name, "cgi-PROGRAM",
	// "fcgi-PROGRAM", "fcgi-SOCKET", "url-HOST-PORT").
	Label string
	// Text is the spec as typed, label included, recorded with results.
	Text string
	Kind SpecKind
	Name string   // SpecNamed
	Path string   // SpecCGI
	Argv []string // SpecFCGICommand
	Addr string   // SpecFCGIAddr; SpecFCGICommand when given as "CMD@ADDR"
	URL  string   // SpecURL
}

// ErrSpec is wrapped by every error of ParseSpecs.
var ErrSpec = errors.New("targets: bad target spec")

var labelRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]*$`)

// ParseSpecs parses a comma-separated list of specs. known reports whether
// a bare name is a built-in deployment. Labels must be unique.
func ParseSpecs(list string, known func(string) bool) ([]Spec, error) {
	items, err := splitSpecs(list)
	if err != nil {
		return nil, err
	}
	var out []Spec
	seen := map[string]bool{}
	for _, item := range items {
		s, err := parseSpec(item, known)
		if err != nil {
			return nil, err
		}
		s.Text = item
		if seen[s.Label] {
			return nil, fmt.Errorf("%w: label %q used twice (give one a LABEL= prefix)", ErrSpec, s.Label)
		}
		seen[s.Label] = true
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no targets", ErrSpec)
	}
	return out, nil
}

// splitSpecs splits at commas outside quotes, keeping the quotes (the
// command of fcgi-cmd is split into words later, honouring them).
func splitSpecs(list string) ([]string, error) {
	var items []string
	var cur strings.Builder
	var quote rune
	for _, r := range list {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote = r
			cur.WriteRune(r)
		case r == ',':
			items = append(items, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("%w: unterminated %c quote in %q", ErrSpec, quote, list)
	}
	items = append(items, strings.TrimSpace(cur.String()))
	var out []string
	for _, it := range items {
		if it != "" {
			out = append(out, it)
		}
	}
	return out, nil
}

func parseSpec(item string, known func(string) bool) (Spec, error) {
	var s Spec
	// A label is a prefix up to '=' that comes before any ':' or quote.
	if i := strings.IndexByte(item, '='); i > 0 && !strings.ContainsAny(item[:i], ":'\" ") {
		s.Label, item = item[:i], item[i+1:]
		if !labelRE.MatchString(s.Label) {
			return s, fmt.Errorf("%w: label %q: use letters, digits, '_', '.', '@' and '-'", ErrSpec, s.Label)
		}
	}
	kind, value, hasValue := strings.Cut(item, ":")
	if !hasValue {
		if !known(item) {
			return s, fmt.Errorf("%w: unknown target %q (a built-in name, or cgi:PROGRAM, fcgi-cmd:'COMMAND', fcgi-addr:ADDR, url:URL)", ErrSpec, item)
		}
		s.Kind, s.Name = SpecNamed, item
		return withLabel(s, item), nil
	}
	value = strings.TrimSpace(value)
	if value == "" {
		return s, fmt.Errorf("%w: %s: needs a value after ':'", ErrSpec, kind)
	}
	switch SpecKind(kind) {
	case SpecCGI:
		s.Kind, s.Path = SpecCGI, unquote(value)
		return withLabel(s, "cgi-"+stem(s.Path)), nil
	case SpecFCGICommand:
		cmd, addr := value, ""
		if i := strings.LastIndex(value, "@"); i > 0 && !inQuotes(value, i) {
			cmd, addr = value[:i], value[i+1:]
		}
		argv, err := splitWords(unquote(strings.TrimSpace(cmd)))
		if err != nil {
			return s, err
		}
		if len(argv) == 0 {
			return s, fmt.Errorf("%w: fcgi-cmd: empty command", ErrSpec)
		}
		s.Kind, s.Argv, s.Addr = SpecFCGICommand, argv, addr
		return withLabel(s, "fcgi-"+filepath.Base(argv[0])), nil
	case SpecFCGIAddr:
		s.Kind, s.Addr = SpecFCGIAddr, unquote(value)
		if rest, ok := strings.CutPrefix(s.Addr, "unix:"); ok {
			return withLabel(s, "fcgi-"+stem(rest)), nil
		}
		return withLabel(s, "fcgi-"+strings.ReplaceAll(strings.TrimPrefix(s.Addr, "tcp:"), ":", "-")), nil
	case SpecURL:
		s.Kind, s.URL = SpecURL, unquote(value)
		host := strings.TrimPrefix(strings.TrimPrefix(s.URL, "http://"), "https://")
		host, _, _ = strings.Cut(host, "/")
		return withLabel(s, "url-"+strings.NewReplacer(":", "-", "[", "", "]", "").Replace(host)), nil
	}
	return s, fmt.Errorf("%w: unknown kind %q in %q (cgi, fcgi-cmd, fcgi-addr or url)", ErrSpec, kind, item)
}

func withLabel(s Spec, def string) Spec {
	if s.Label == "" {
		s.Label = def
	}
	return s
}

// stem is a file name without directory and extension, as a label part.
func stem(p string) string {
	b := filepath.Base(p)
	if e := filepath.Ext(b); e != "" && e != b {
		b = strings.TrimSuffix(b, e)
	}
	return b
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '\'' || v[0] == '"') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// inQuotes says whether byte i of s lies inside a quoted part.
func inQuotes(s string, i int) bool {
	var quote byte
	for j := 0; j < i; j++ {
		switch {
		case quote != 0 && s[j] == quote:
			quote = 0
		case quote == 0 && (s[j] == '\'' || s[j] == '"'):
			quote = s[j]
		}
	}
	return quote != 0
}

// splitWords splits a command line into words as a POSIX shell would for
// plain words and single- or double-quoted parts (no expansion, no
// escapes but \" inside double quotes).
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '\'':
			if c == '\'' {
				quote = 0
			} else {
				cur.WriteByte(c)
			}
		case quote == '"':
			switch {
			case c == '"':
				quote = 0
			case c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
				i++
				cur.WriteByte(s[i])
			default:
				cur.WriteByte(c)
			}
		case c == '\'' || c == '"':
			quote, inWord = c, true
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("%w: unterminated %c quote in %q", ErrSpec, quote, s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
