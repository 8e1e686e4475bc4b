package gateway

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadResponseHeader(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantStatus int
		wantHeader http.Header
		wantBody   string
	}{
		{
			name:       "minimal LF",
			in:         "Content-Type: text/plain\n\nhello",
			wantStatus: 200,
			wantHeader: http.Header{"Content-Type": {"text/plain"}},
			wantBody:   "hello",
		},
		{
			name:       "CRLF and status with reason",
			in:         "Status: 404 Not Found\r\nContent-Type: text/html\r\n\r\n<h1>gone</h1>\r\n",
			wantStatus: 404,
			wantHeader: http.Header{"Content-Type": {"text/html"}},
			wantBody:   "<h1>gone</h1>\r\n",
		},
		{
			name:       "status without reason",
			in:         "Status: 201\n\n",
			wantStatus: 201,
			wantHeader: http.Header{},
		},
		{
			name:       "identical Content-Length copies are one",
			in:         "Content-Length: 3\ncontent-length: 3\n\nabc",
			wantStatus: 200,
			wantHeader: http.Header{"Content-Length": {"3"}},
			wantBody:   "abc",
		},
		{
			name:       "location without status redirects",
			in:         "Location: /elsewhere\n\n",
			wantStatus: 302,
			wantHeader: http.Header{"Location": {"/elsewhere"}},
		},
		{
			name:       "location with status keeps it",
			in:         "Location: http://example.com/\nStatus: 301 Moved\n\n",
			wantStatus: 301,
			wantHeader: http.Header{"Location": {"http://example.com/"}},
		},
		{
			name:       "no content type, repeated fields, canonical names, trimmed values",
			in:         "x-custom:  a \t\nX-Custom: b\nset-cookie:c=1\n\nbody",
			wantStatus: 200,
			wantHeader: http.Header{"X-Custom": {"a", "b"}, "Set-Cookie": {"c=1"}},
			wantBody:   "body",
		},
		{
			name:       "mixed line endings, empty value, obs-text",
			in:         "A: \r\nB: caf\xc3\xa9\n\r\n",
			wantStatus: 200,
			wantHeader: http.Header{"A": {""}, "B": {"caf\xc3\xa9"}},
		},
		{
			name:       "line longer than the reader's buffer",
			in:         "X-Long: " + strings.Repeat("v", 5000) + "\n\n",
			wantStatus: 200,
			wantHeader: http.Header{"X-Long": {strings.Repeat("v", 5000)}},
		},
		{
			name:       "head exactly at the limit",
			in:         "X: " + strings.Repeat("v", MaxHeaderBytes-5) + "\n\n",
			wantStatus: 200,
			wantHeader: http.Header{"X": {strings.Repeat("v", MaxHeaderBytes-5)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReaderSize(strings.NewReader(tt.in), 16)
			status, h, err := ReadResponseHeader(br)
			if err != nil {
				t.Fatalf("ReadResponseHeader(%.40q) error = %v; want nil", tt.in, err)
			}
			if status != tt.wantStatus {
				t.Errorf("status = %d; want %d", status, tt.wantStatus)
			}
			if !reflect.DeepEqual(h, tt.wantHeader) {
				t.Errorf("header = %.200v; want %.200v", h, tt.wantHeader)
			}
			body, _ := io.ReadAll(br)
			if string(body) != tt.wantBody {
				t.Errorf("body left in reader = %q; want %q", body, tt.wantBody)
			}
		})
	}
}

func TestReadResponseHeaderMalformed(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantEOF bool // also wraps io.ErrUnexpectedEOF
	}{
		{"empty", "", true},
		{"no blank line", "Content-Type: text/plain\n", true},
		{"no final newline", "Content-Type: text/plain", true},
		{"blank line only", "\n", false},
		{"CRLF blank line only", "\r\nbody", false},
		{"no colon", "Content-Type text/plain\n\n", false},
		{"body without head", "hello world\n", false},
		{"empty name", ": x\n\n", false},
		{"space in name", "Content Type: x\n\n", false},
		{"space before colon", "Content-Type : x\n\n", false},
		{"folded continuation", "X: a\n b\n\n", false},
		{"control char in value", "X: a\x00b\n\n", false},
		{"bare CR in value", "X: a\rb\n\n", false},
		{"DEL in value", "X: a\x7f\n\n", false},
		{"non-ASCII name", "X\xc3\xa9: a\n\n", false},
		{"status not numeric", "Status: abc\n\n", false},
		{"status short", "Status: 20\n\n", false},
		{"status four digits", "Status: 2000\n\n", false},
		{"status informational", "Status: 100 Continue\n\n", false},
		{"status too large", "Status: 600 Nope\n\n", false},
		{"status empty", "Status:\n\n", false},
		{"status twice", "Status: 200 OK\nStatus: 500 Oops\n\n", false},
		{"status lower-case twice", "status: 200\nSTATUS: 200\n\n", false},
		{"conflicting Content-Length", "Content-Length: 3\nContent-Length: 5\n\nabcde", false},
		{"Content-Length list", "Content-Length: 3, 3\n\nabc", false},
		{"Content-Length not digits", "Content-Length: -1\n\n", false},
		{"Content-Length empty", "Content-Length:\n\n", false},
		{"Content-Length with sign", "Content-Length: +3\n\nabc", false},
		{"head over the limit", "X: " + strings.Repeat("v", MaxHeaderBytes) + "\n\n", false},
		{"many lines over the limit", strings.Repeat("X: y\n", MaxHeaderBytes/5+1) + "\n", false},
		{"endless line", strings.Repeat("v", 3*MaxHeaderBytes), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, err := ReadResponseHeader(bufio.NewReader(strings.NewReader(tt.in)))
			if !errors.Is(err, ErrMalformedHeader) {
				t.Fatalf("ReadResponseHeader(%.40q) = %d, %v, %v; want error wrapping ErrMalformedHeader", tt.in, status, h, err)
			}
			if status != 0 || h != nil {
				t.Errorf("on error got status %d, header %v; want 0, nil", status, h)
			}
			if got := errors.Is(err, io.ErrUnexpectedEOF); got != tt.wantEOF {
				t.Errorf("errors.Is(%v, io.ErrUnexpectedEOF) = %v; want %v", err, got, tt.wantEOF)
			}
		})
	}
}

func TestReadResponseHeaderReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("Content-Type: text/plain\n"), iotest.ErrReader(boom))
	_, _, err := ReadResponseHeader(bufio.NewReader(r))
	if !errors.Is(err, boom) || errors.Is(err, ErrMalformedHeader) {
		t.Fatalf("ReadResponseHeader(failing reader) error = %v; want it to wrap the read error and not ErrMalformedHeader", err)
	}
}

// TestReadResponseHeaderBoundedRead checks that an endless head is given up
// after about MaxHeaderBytes, not read to the end.
func TestReadResponseHeaderBoundedRead(t *testing.T) {
	cr := &countingReader{r: endless('x')}
	br := bufio.NewReader(cr)
	_, _, err := ReadResponseHeader(br)
	if !errors.Is(err, ErrMalformedHeader) {
		t.Fatalf("error = %v; want ErrMalformedHeader", err)
	}
	if max := MaxHeaderBytes + 2*br.Size(); cr.n > max {
		t.Errorf("read %d bytes of an endless head; want at most %d", cr.n, max)
	}
}

type endless byte

func (e endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(e)
	}
	return len(p), nil
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func BenchmarkReadResponseHeader(b *testing.B) {
	const head = "Content-Type: text/html; charset=utf-8\r\nX-Request-Id: 1234\r\nCache-Control: no-store\r\n\r\n"
	sr := strings.NewReader(head)
	br := bufio.NewReader(sr)
	b.ReportAllocs()
	for b.Loop() {
		sr.Reset(head)
		br.Reset(sr)
		if _, _, err := ReadResponseHeader(br); err != nil {
			b.Fatal(err)
		}
	}
}
