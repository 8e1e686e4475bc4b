package loadgen

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// parseOutcome is what the engine learns from one response.
type parseOutcome struct {
	code     int
	bodyLen  int64
	reusable bool
	err      bool
	rest     int // bytes left after the response
}

// parseChunks feeds chunks to a parser as the engine does (keeping what
// feed did not consume), then signals EOF if eof.
func parseChunks(head bool, chunks [][]byte, eof bool) parseOutcome {
	var p respParser
	p.reset(head)
	var buf []byte
	for _, c := range chunks {
		buf = append(buf, c...)
		n, err := p.feed(buf)
		buf = buf[n:]
		if err != nil {
			return parseOutcome{err: true}
		}
	}
	if !p.done() && eof {
		if err := p.eof(); err != nil {
			return parseOutcome{err: true}
		}
	}
	if !p.done() {
		return parseOutcome{err: true, rest: -1}
	}
	return parseOutcome{code: p.code, bodyLen: p.bodyLen, reusable: p.reusable() && !eof, rest: len(buf)}
}

var validResponses = []struct {
	name string
	head bool
	eof  bool // the response ends with the connection
	in   string
	want parseOutcome
}{
	{"content-length", false, false, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello",
		parseOutcome{code: 200, bodyLen: 5, reusable: true}},
	{"no reason phrase", false, false, "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
		parseOutcome{code: 200, reusable: true}},
	{"case-insensitive names, OWS", false, false, "HTTP/1.1 404 Not Found\r\ncontent-LENGTH:\t 3 \r\n\r\nabc",
		parseOutcome{code: 404, bodyLen: 3, reusable: true}},
	{"bare LF", false, false, "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi",
		parseOutcome{code: 200, bodyLen: 2, reusable: true}},
	{"chunked with extension and trailer", false, false,
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n5;name=val\r\nhello\r\nA \r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n",
		parseOutcome{code: 200, bodyLen: 15, reusable: true}},
	{"chunked overrides content-length", false, false,
		"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		parseOutcome{code: 200, bodyLen: 3, reusable: true}},
	{"connection close", false, false, "HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 2\r\n\r\nok",
		parseOutcome{code: 200, bodyLen: 2}},
	{"body until EOF", false, true, "HTTP/1.1 200 OK\r\n\r\nuntil the end",
		parseOutcome{code: 200, bodyLen: 13}},
	{"HTTP/1.0 without keep-alive", false, false, "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
		parseOutcome{code: 200, bodyLen: 1}},
	{"HTTP/1.0 keep-alive", false, false, "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx",
		parseOutcome{code: 200, bodyLen: 1, reusable: true}},
	{"HEAD ignores content-length", true, false, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
		parseOutcome{code: 200, reusable: true}},
	{"204 has no body", false, false, "HTTP/1.1 204 No Content\r\n\r\n",
		parseOutcome{code: 204, reusable: true}},
	{"304 has no body", false, false, "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
		parseOutcome{code: 304, reusable: true}},
	{"interim 100 then final", false, false, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx",
		parseOutcome{code: 201, bodyLen: 1, reusable: true}},
	{"bytes after the response", false, false, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1",
		parseOutcome{code: 200, bodyLen: 1, reusable: true, rest: 8}},
}

// TestParseResponseSplits parses each valid response whole, split in two
// at every byte boundary, and byte by byte: the outcome must not depend on
// how the bytes arrived.
func TestParseResponseSplits(t *testing.T) {
	for _, tc := range validResponses {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.in)
			if got := parseChunks(tc.head, [][]byte{in}, tc.eof); got != tc.want {
				t.Fatalf("whole: got %+v, want %+v", got, tc.want)
			}
			for i := range len(in) {
				if got := parseChunks(tc.head, [][]byte{in[:i], in[i:]}, tc.eof); got != tc.want {
					t.Fatalf("split at %d: got %+v, want %+v", i, got, tc.want)
				}
			}
			var bytewise [][]byte
			for i := range len(in) {
				bytewise = append(bytewise, in[i:i+1])
			}
			if got := parseChunks(tc.head, bytewise, tc.eof); got != tc.want {
				t.Fatalf("byte by byte: got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseResponseMalformed(t *testing.T) {
	bigHeader := "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", maxResponseHead) + "\r\n\r\n"
	manyHeaders := "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-A: b\r\n", maxResponseHead/8+1) + "\r\n"
	tests := []struct {
		name string
		in   string
		eof  bool
	}{
		{"not HTTP", "SMTP/1.1 200 OK\r\n\r\n", false},
		{"HTTP/2", "HTTP/2.0 200 OK\r\n\r\n", false},
		{"short status line", "HTTP/1.1 20\r\n\r\n", false},
		{"letters in code", "HTTP/1.1 2x0 OK\r\n\r\n", false},
		{"code below 100", "HTTP/1.1 099 Odd\r\n\r\n", false},
		{"no space after code", "HTTP/1.1 200OK\r\n\r\n", false},
		{"header without colon", "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", false},
		{"space in header name", "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", false},
		{"folded header", "HTTP/1.1 200 OK\r\nA: b\r\n c\r\n\r\n", false},
		{"bad content-length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false},
		{"conflicting content-length", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", false},
		{"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false},
		{"empty chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", false},
		{"chunk size overflow", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", false},
		{"chunk longer than its size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n", false},
		{"chunk-size line too long", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;" + strings.Repeat("e", maxChunkLine), false},
		{"header line over the limit", bigHeader, false},
		{"header section over the limit", manyHeaders, false},
		{"EOF before any byte", "", true},
		{"EOF in the head", "HTTP/1.1 200 OK\r\nContent-", true},
		{"EOF in the body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true},
		{"EOF in a chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p respParser
			p.reset(false)
			n, err := p.feed([]byte(tc.in))
			if err == nil && tc.eof && !p.done() {
				err = p.eof()
			}
			if err == nil {
				t.Fatalf("no error; consumed %d of %d, done %v", n, len(tc.in), p.done())
			}
			if tc.eof {
				if kind := ClassifyError(0, err.Error()); kind != ErrKindEOF {
					t.Errorf("error %q classified %q, want %q", err, kind, ErrKindEOF)
				}
			} else if !errors.Is(err, errMalformed) {
				t.Errorf("error %q does not wrap errMalformed", err)
			}
		})
	}
}

// TestParseResponseNoAlloc checks that parsing allocates nothing.
func TestParseResponseNoAlloc(t *testing.T) {
	in := []byte("HTTP/1.1 200 OK\r\nContent-Length: 13\r\nServer: x\r\nConnection: keep-alive\r\n\r\nHello, World!")
	chunked := []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
	var p respParser
	allocs := testing.AllocsPerRun(100, func() {
		for _, b := range [][]byte{in, chunked} {
			p.reset(false)
			if _, err := p.feed(b); err != nil || !p.done() {
				t.Fatalf("feed: %v, done %v", err, p.done())
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per parse, want 0", allocs)
	}
}

// FuzzParseResponse checks that no input makes the parser panic, and that
// splitting the input in two never changes the outcome.
func FuzzParseResponse(f *testing.F) {
	for _, tc := range validResponses {
		f.Add([]byte(tc.in), uint16(len(tc.in)/2), tc.head)
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffff\r\n"), uint16(40), false)
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"), uint16(3), false)
	f.Fuzz(func(t *testing.T, in []byte, split uint16, head bool) {
		whole := parseChunks(head, [][]byte{in}, true)
		i := int(split) % (len(in) + 1)
		parts := parseChunks(head, [][]byte{in[:i], in[i:]}, true)
		if whole != parts {
			t.Fatalf("whole %+v, split at %d %+v", whole, i, parts)
		}
		if !whole.err && (whole.code < 100 || whole.code > 999 || whole.bodyLen > int64(len(in))) {
			t.Fatalf("implausible outcome %+v", whole)
		}
	})
}

func TestBuildRequest(t *testing.T) {
	tests := []struct {
		name      string
		method    string
		uri       string
		host      string
		header    http.Header
		body      string
		keepAlive bool
		want      string
	}{
		{"simple GET", "GET", "/plaintext", "127.0.0.1:8080", nil, "", true,
			"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"},
		{"POST with headers", "POST", "/echo?x=1", "example.com", http.Header{
			"X-B":          {"2", "3"},
			"Content-Type": {"application/json"},
			"X-A":          {"bad\r\nInjected: yes"},
			"Connection":   {"keep-alive"},
		}, `{"a":1}`, true,
			"POST /echo?x=1 HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/json\r\n" +
				"X-A: bad Injected: yes\r\nX-B: 2\r\nX-B: 3\r\nContent-Length: 7\r\n\r\n{\"a\":1}"},
		{"empty POST, no keep-alive", "POST", "", "h", nil, "", false,
			"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"},
		{"Host and Connection from header", "GET", "/", "h", http.Header{"Host": {"other"}, "Connection": {"close"}}, "", true,
			"GET / HTTP/1.1\r\nHost: other\r\nConnection: close\r\n\r\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			if tc.body != "" {
				body = []byte(tc.body)
			}
			got := buildRequest(tc.method, tc.uri, tc.host, tc.header, body, tc.keepAlive)
			if !bytes.Equal(got, []byte(tc.want)) {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}
