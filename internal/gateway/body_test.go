package gateway

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// untouchable fails the test if the body is read at all.
type untouchable struct{ t *testing.T }

func (u untouchable) Read([]byte) (int, error) {
	u.t.Error("body read although its declared length was over the limit")
	return 0, io.EOF
}

func TestBodyPolicyApply(t *testing.T) {
	tests := []struct {
		name    string
		policy  BodyPolicy
		body    func(t *testing.T) io.Reader
		length  int64 // declared; -1 for unknown
		wantErr error
		wantLen int64
		wantStr string
		inFile  bool // spooled to a file, not memory
	}{
		{name: "declared length passes through", length: 5,
			body: func(*testing.T) io.Reader { return strings.NewReader("hello") }, wantLen: 5, wantStr: "hello"},
		{name: "declared length over the limit is refused unread", policy: BodyPolicy{MaxBytes: 4}, length: 5,
			body: func(t *testing.T) io.Reader { return untouchable{t} }, wantErr: ErrBodyTooLarge},
		{name: "unknown length in memory", length: -1,
			body: func(*testing.T) io.Reader { return strings.NewReader("chunked") }, wantLen: 7, wantStr: "chunked"},
		{name: "unknown length empty", length: -1,
			body: func(*testing.T) io.Reader { return strings.NewReader("") }, wantLen: 0, wantStr: ""},
		{name: "unknown length spooled to a file", policy: BodyPolicy{MemBytes: 10}, length: -1,
			body:    func(*testing.T) io.Reader { return strings.NewReader(strings.Repeat("0123456789", 100)) },
			wantLen: 1000, wantStr: strings.Repeat("0123456789", 100), inFile: true},
		{name: "unknown length exactly at the limit", policy: BodyPolicy{MaxBytes: 20, MemBytes: 10}, length: -1,
			body:    func(*testing.T) io.Reader { return strings.NewReader(strings.Repeat("x", 20)) },
			wantLen: 20, wantStr: strings.Repeat("x", 20), inFile: true},
		{name: "unknown length over the limit in memory", policy: BodyPolicy{MaxBytes: 5}, length: -1,
			body: func(*testing.T) io.Reader { return strings.NewReader("123456") }, wantErr: ErrBodyTooLarge},
		{name: "unknown length over the limit in a file", policy: BodyPolicy{MaxBytes: 20, MemBytes: 10}, length: -1,
			body: func(*testing.T) io.Reader { return strings.NewReader(strings.Repeat("x", 21)) }, wantErr: ErrBodyTooLarge},
		{name: "no limit", policy: BodyPolicy{MaxBytes: -1, MemBytes: 4}, length: -1,
			body:    func(*testing.T) io.Reader { return strings.NewReader(strings.Repeat("y", DefaultMaxBodyBytes+1)) },
			wantLen: DefaultMaxBodyBytes + 1, inFile: true},
		{name: "client error while spooling", length: -1,
			body: func(*testing.T) io.Reader {
				return io.MultiReader(strings.NewReader("part"), iotest.ErrReader(errors.New("connection reset")))
			}, wantErr: ErrBodyRead},
		{name: "client error in the file part", policy: BodyPolicy{MemBytes: 2}, length: -1,
			body: func(*testing.T) io.Reader {
				return io.MultiReader(strings.NewReader("part"), iotest.ErrReader(errors.New("connection reset")))
			}, wantErr: ErrBodyRead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.policy.TempDir = dir
			r := httptest.NewRequest("POST", "/", tt.body(t))
			r.ContentLength = tt.length
			if tt.length < 0 {
				r.TransferEncoding = []string{"chunked"}
			}
			release, err := tt.policy.Apply(r)
			if release == nil {
				t.Fatal("Apply returned a nil release")
			}
			defer release()
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("Apply() = %v; want %v", err, tt.wantErr)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("temporary directory holds %d files; want none (spool files are unlinked)", len(ents))
			}
			if err != nil {
				if r.ContentLength != tt.length {
					t.Errorf("after a refusal ContentLength = %d; want it unchanged (%d)", r.ContentLength, tt.length)
				}
				return
			}
			if r.ContentLength != tt.wantLen || r.TransferEncoding != nil {
				t.Errorf("ContentLength, TransferEncoding = %d, %v; want %d, nil", r.ContentLength, r.TransferEncoding, tt.wantLen)
			}
			if tt.length < 0 && r.Header.Get("Content-Length") != strconv.FormatInt(tt.wantLen, 10) {
				t.Errorf("Content-Length header = %q; want %d", r.Header.Get("Content-Length"), tt.wantLen)
			}
			_, isFile := r.Body.(*os.File)
			if isFile != tt.inFile {
				t.Errorf("body spooled to a file = %v; want %v", isFile, tt.inFile)
			}
			b, err := io.ReadAll(r.Body)
			if err != nil || int64(len(b)) != tt.wantLen || (tt.wantStr != "" && string(b) != tt.wantStr) {
				t.Errorf("body = %d bytes, %v; want %d bytes %.20q", len(b), err, tt.wantLen, tt.wantStr)
			}
		})
	}
}

// TestBodyPolicyHandler sends real chunked requests through a server.
func TestBodyPolicyHandler(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("handler read: %v", err)
		}
		w.Header().Set("X-Length", strconv.FormatInt(r.ContentLength, 10))
		w.Write(b)
	})
	srv := httptest.NewServer(BodyPolicy{MaxBytes: 100, MemBytes: 10, TempDir: t.TempDir()}.Handler(echo))
	defer srv.Close()
	tests := []struct {
		body       string
		wantStatus int
		wantBody   string
		wantLength string
	}{
		{"short", 200, "short", "5"},
		{strings.Repeat("z", 100), 200, strings.Repeat("z", 100), "100"},
		{strings.Repeat("z", 101), 413, "Request Entity Too Large\n", ""},
	}
	for _, tt := range tests {
		// A MultiReader hides the length, so the client sends it chunked.
		req, _ := http.NewRequest("POST", srv.URL, io.MultiReader(strings.NewReader(tt.body)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.wantStatus || string(b) != tt.wantBody || resp.Header.Get("X-Length") != tt.wantLength {
			t.Errorf("chunked POST of %d bytes = %d %.30q X-Length %q; want %d %.30q %q", len(tt.body),
				resp.StatusCode, b, resp.Header.Get("X-Length"), tt.wantStatus, tt.wantBody, tt.wantLength)
		}
	}
}
