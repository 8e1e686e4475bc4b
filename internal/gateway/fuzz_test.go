package gateway

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"testing"
)

// FuzzReadResponseHeader checks that any input either parses into a head the
// front can relay verbatim, or fails with ErrMalformedHeader; never a panic,
// never an I/O error from an in-memory reader, never more than the limit.
// The seed corpus is in testdata/fuzz/FuzzReadResponseHeader.
func FuzzReadResponseHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		br := bufio.NewReader(r)
		status, h, err := ReadResponseHeader(br)
		if err != nil {
			if !errors.Is(err, ErrMalformedHeader) {
				t.Fatalf("error %v does not wrap ErrMalformedHeader", err)
			}
			if status != 0 || h != nil {
				t.Fatalf("error with status %d, header %v", status, h)
			}
			return
		}
		consumed := len(in) - r.Len() - br.Buffered()
		if consumed > MaxHeaderBytes {
			t.Fatalf("accepted a head of %d bytes > MaxHeaderBytes", consumed)
		}
		if status < 200 || status > 599 {
			t.Fatalf("status %d out of range", status)
		}
		if _, ok := h["Status"]; ok {
			t.Fatalf("Status left in header: %v", h)
		}
		for k, vv := range h {
			if k != http.CanonicalHeaderKey(k) || !validFieldName([]byte(k)) {
				t.Fatalf("field name %q not a canonical token", k)
			}
			for _, v := range vv {
				if !validFieldValue([]byte(v)) || len(trimOWS([]byte(v))) != len(v) {
					t.Fatalf("field value %q of %q not clean", v, k)
				}
			}
		}
		// What was accepted must survive being written out and read again.
		var out bytes.Buffer
		out.WriteString("Status: " + strconv.Itoa(status) + "\r\n")
		if err := h.Write(&out); err != nil {
			t.Fatal(err)
		}
		out.WriteString("\r\n")
		status2, h2, err := ReadResponseHeader(bufio.NewReader(&out))
		if err != nil || status2 != status || !reflect.DeepEqual(h2, h) {
			t.Fatalf("round trip of %d %v = %d %v %v", status, h, status2, h2, err)
		}
		// The body is untouched.
		rest, _ := io.ReadAll(br)
		if !bytes.Equal(rest, in[consumed:]) {
			t.Fatalf("body = %q; want %q", rest, in[consumed:])
		}
	})
}
