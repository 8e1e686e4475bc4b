package fcgi

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
)

var sizeTests = []struct {
	size  int
	bytes []byte
}{
	{0, []byte{0x00}},
	{127, []byte{0x7F}},
	{128, []byte{0x80, 0x00, 0x00, 0x80}},
	{1000, []byte{0x80, 0x00, 0x03, 0xE8}},
	{33554431, []byte{0x81, 0xFF, 0xFF, 0xFF}},
	{maxPairLen, []byte{0xFF, 0xFF, 0xFF, 0xFF}},
}

func TestSize(t *testing.T) {
	for _, tt := range sizeTests {
		if got := appendSize(nil, tt.size); !bytes.Equal(got, tt.bytes) {
			t.Errorf("appendSize(%d) = %x; want %x", tt.size, got, tt.bytes)
		}
		size, n, ok := readSize(tt.bytes)
		if !ok || size != tt.size || n != len(tt.bytes) {
			t.Errorf("readSize(%x) = %d, %d, %v; want %d, %d, true", tt.bytes, size, n, ok, tt.size, len(tt.bytes))
		}
	}
	for _, short := range [][]byte{nil, {0x80}, {0x80, 0, 0}} {
		if _, _, ok := readSize(short); ok {
			t.Errorf("readSize(%x) ok; want truncated", short)
		}
	}
}

var streamTests = []struct {
	desc    string
	recType recType
	id      uint16
	content []byte
	raw     []byte
}{
	{"empty record", typeStdout, 1, nil,
		[]byte{1, byte(typeStdout), 0, 1, 0, 0, 0, 0},
	},
	{"padded record", typeStderr, 1, []byte("abc"),
		[]byte{1, byte(typeStderr), 0, 1, 0, 3, 5, 0, 'a', 'b', 'c', 0, 0, 0, 0, 0},
	},
	{"aligned record", typeStdin, 2, []byte("12345678"),
		[]byte{1, byte(typeStdin), 0, 2, 0, 8, 0, 0, '1', '2', '3', '4', '5', '6', '7', '8'},
	},
	// The same bytes net/http/fcgi's tests expect: 66000 bytes take two
	// records, each padded to a multiple of 8.
	{"two records", typeStdin, 300, make([]byte, 66000),
		bytes.Join([][]byte{
			{1, byte(typeStdin), 0x01, 0x2C, 0xFF, 0xFF, 1, 0},
			make([]byte, 65536),
			{1, byte(typeStdin), 0x01, 0x2C, 0x01, 0xD1, 7, 0},
			make([]byte, 472),
		}, nil),
	},
}

func TestStreams(t *testing.T) {
	for _, tt := range streamTests {
		t.Run(tt.desc, func(t *testing.T) {
			if got := appendRecords(nil, tt.recType, tt.id, tt.content); !bytes.Equal(got, tt.raw) {
				t.Errorf("appendRecords = %x...; want %x...", head(got), head(tt.raw))
			}

			// Read back through a synchronous pipe, as from a daemon.
			client, server := net.Pipe()
			defer client.Close()
			go func() {
				server.Write(tt.raw)
				server.Close()
			}()
			buf := make([]byte, maxRecord)
			var content []byte
			for {
				h, c, err := readRecord(client, buf)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("readRecord: %v", err)
				}
				if h.Type != tt.recType || h.ID != tt.id {
					t.Fatalf("readRecord header = type %d id %d; want type %d id %d", h.Type, h.ID, tt.recType, tt.id)
				}
				content = append(content, c...)
			}
			if !bytes.Equal(content, tt.content) && len(content)+len(tt.content) > 0 {
				t.Errorf("read %d bytes of content; want %d", len(content), len(tt.content))
			}
		})
	}
}

func head(b []byte) []byte { return b[:min(len(b), 16)] }

func TestBeginEndRequest(t *testing.T) {
	begin := appendBeginRequest(nil, 1, roleResponder, flagKeepConn)
	want := []byte{1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0}
	if !bytes.Equal(begin, want) {
		t.Errorf("appendBeginRequest = %x; want %x", begin, want)
	}
	role, flags, err := parseBeginRequest(begin[headerLen:])
	if err != nil || role != roleResponder || flags != flagKeepConn {
		t.Errorf("parseBeginRequest = %d, %d, %v; want 1, 1, nil", role, flags, err)
	}

	end := appendEndRequest(nil, 7, 0x01020304, statusOverloaded)
	want = []byte{1, 3, 0, 7, 0, 8, 0, 0, 1, 2, 3, 4, 2, 0, 0, 0}
	if !bytes.Equal(end, want) {
		t.Errorf("appendEndRequest = %x; want %x", end, want)
	}
	app, proto, err := parseEndRequest(end[headerLen:])
	if err != nil || app != 0x01020304 || proto != statusOverloaded {
		t.Errorf("parseEndRequest = %#x, %d, %v; want 0x1020304, 2, nil", app, proto, err)
	}
	if _, _, err := parseEndRequest(end[headerLen : headerLen+4]); !errors.Is(err, ErrMalformedRecord) {
		t.Errorf("parseEndRequest(4 bytes) = %v; want ErrMalformedRecord", err)
	}
	if _, _, err := parseBeginRequest(nil); !errors.Is(err, ErrMalformedRecord) {
		t.Errorf("parseBeginRequest(nil) = %v; want ErrMalformedRecord", err)
	}
}

func TestPairs(t *testing.T) {
	long := strings.Repeat("v", 300)
	tests := []struct {
		name, value string
		raw         []byte
	}{
		{"A", "b", []byte{1, 1, 'A', 'b'}},
		{"EMPTY", "", []byte{5, 0, 'E', 'M', 'P', 'T', 'Y'}},
		{"K", long, append([]byte{1, 0x80, 0, 0x01, 0x2C, 'K'}, long...)},
		{long, "x", append(append([]byte{0x80, 0, 0x01, 0x2C, 1}, long...), 'x')},
	}
	var all []byte
	for _, tt := range tests {
		got := appendPair(nil, tt.name, tt.value)
		if !bytes.Equal(got, tt.raw) {
			t.Errorf("appendPair(%.8q, %.8q) = %x; want %x", tt.name, tt.value, head(got), head(tt.raw))
		}
		if n := pairLen(len(tt.name), len(tt.value)); n != len(tt.raw) {
			t.Errorf("pairLen(%d, %d) = %d; want %d", len(tt.name), len(tt.value), n, len(tt.raw))
		}
		all = append(all, got...)
	}
	i := 0
	err := parsePairs(all, func(name, value []byte) {
		if string(name) != tests[i].name || string(value) != tests[i].value {
			t.Errorf("pair %d = %.8q=%.8q; want %.8q=%.8q", i, name, value, tests[i].name, tests[i].value)
		}
		i++
	})
	if err != nil || i != len(tests) {
		t.Errorf("parsePairs: %d pairs, %v; want %d, nil", i, err, len(tests))
	}

	// A 4-byte length is valid even where 1 byte would do.
	var got string
	if err := parsePairs([]byte{0x80, 0, 0, 1, 0, 'N'}, func(n, v []byte) { got = string(n) + "=" + string(v) }); err != nil || got != "N=" {
		t.Errorf("parsePairs(long form) = %q, %v; want \"N=\", nil", got, err)
	}
}

func TestParsePairsMalformed(t *testing.T) {
	tests := []struct {
		desc string
		raw  []byte
	}{
		{"truncated name length", []byte{0x80, 0}},
		{"missing value length", []byte{1}},
		{"truncated value length", []byte{1, 0x80}},
		{"name past the end", []byte{5, 0, 'a'}},
		{"value past the end", []byte{1, 5, 'a', 'b'}},
		{"huge length", []byte{0xFF, 0xFF, 0xFF, 0xFF, 0, 'a'}},
		{"second pair truncated", []byte{1, 1, 'a', 'b', 1}},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := parsePairs(tt.raw, func(name, value []byte) {})
			if !errors.Is(err, ErrMalformedRecord) {
				t.Errorf("parsePairs(%x) = %v; want ErrMalformedRecord", tt.raw, err)
			}
		})
	}
}

func TestReadRecordMalformed(t *testing.T) {
	valid := appendRecords(nil, typeStdout, 1, []byte("hello"))
	tests := []struct {
		desc    string
		raw     []byte
		bufSize int
		want    error
	}{
		{"empty stream", nil, maxRecord, io.EOF},
		{"bad version", []byte{2, 6, 0, 1, 0, 0, 0, 0}, maxRecord, ErrMalformedRecord},
		{"version zero", []byte{0, 6, 0, 1, 0, 0, 0, 0}, maxRecord, ErrMalformedRecord},
		{"type zero", []byte{1, 0, 0, 1, 0, 0, 0, 0}, maxRecord, ErrMalformedRecord},
		{"unknown type", []byte{1, 12, 0, 1, 0, 0, 0, 0}, maxRecord, ErrMalformedRecord},
		{"truncated header", valid[:5], maxRecord, ErrMalformedRecord},
		{"truncated content", valid[:10], maxRecord, ErrMalformedRecord},
		{"truncated padding", valid[:len(valid)-1], maxRecord, ErrMalformedRecord},
		{"content beyond buffer", valid, 7, ErrMalformedRecord},
		{"max record beyond small buffer", []byte{1, 6, 0, 1, 0xFF, 0xFF, 0xFF, 0}, 1024, ErrMalformedRecord},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			_, _, err := readRecord(bytes.NewReader(tt.raw), make([]byte, tt.bufSize))
			if !errors.Is(err, tt.want) {
				t.Errorf("readRecord(%x) = %v; want %v", tt.raw, err, tt.want)
			}
		})
	}
}

// TestReadRecordExact checks that the reader consumes exactly the record
// the header announces and nothing of what follows.
func TestReadRecordExact(t *testing.T) {
	raw := appendRecords(nil, typeStdout, 1, []byte("hello"))
	raw = append(raw, "TRAILING"...)
	r := bytes.NewReader(raw)
	h, content, err := readRecord(r, make([]byte, maxRecord))
	if err != nil {
		t.Fatal(err)
	}
	if string(content) != "hello" || h.PaddingLength != 3 {
		t.Errorf("readRecord = %q, padding %d; want \"hello\", 3", content, h.PaddingLength)
	}
	rest, _ := io.ReadAll(r)
	if string(rest) != "TRAILING" {
		t.Errorf("left %q unread; want \"TRAILING\"", rest)
	}
}

func TestAppendHead(t *testing.T) {
	big := strings.Repeat("x", 70000) // forces PARAMS across two records
	tests := []struct {
		desc   string
		params []string
		noBody bool
		keep   bool
	}{
		{"get", []string{"REQUEST_METHOD=GET", "PATH_INFO=/a=b", "EMPTY="}, true, true},
		{"post no keep", []string{"REQUEST_METHOD=POST"}, false, false},
		{"no params", nil, true, true},
		{"params over one record", []string{"BIG=" + big, "AFTER=1"}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			c := &Client{DisableKeepConn: !tt.keep}
			raw, err := c.appendHead(nil, tt.params, tt.noBody)
			if err != nil {
				t.Fatal(err)
			}
			r := bytes.NewReader(raw)
			buf := make([]byte, maxRecord)

			h, content, err := readRecord(r, buf)
			if err != nil || h.Type != typeBeginRequest || h.ID != requestID {
				t.Fatalf("first record = type %d id %d, %v; want BEGIN_REQUEST id 1", h.Type, h.ID, err)
			}
			role, flags, _ := parseBeginRequest(content)
			wantFlags := uint8(0)
			if tt.keep {
				wantFlags = flagKeepConn
			}
			if role != roleResponder || flags != wantFlags {
				t.Errorf("BEGIN_REQUEST role %d flags %d; want 1, %d", role, flags, wantFlags)
			}

			var params []byte
			for {
				h, content, err := readRecord(r, buf)
				if err != nil || h.Type != typeParams {
					t.Fatalf("record = type %d, %v; want PARAMS", h.Type, err)
				}
				if len(content) == 0 {
					break
				}
				params = append(params, content...)
			}
			var got []string
			if err := parsePairs(params, func(n, v []byte) { got = append(got, string(n)+"="+string(v)) }); err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(tt.params, "\n") {
				t.Errorf("params = %.80q; want %.80q", got, tt.params)
			}
			if tt.noBody {
				h, content, err := readRecord(r, buf)
				if err != nil || h.Type != typeStdin || len(content) != 0 {
					t.Errorf("last record = type %d len %d, %v; want empty STDIN", h.Type, len(content), err)
				}
			}
			if r.Len() != 0 {
				t.Errorf("%d bytes after the head", r.Len())
			}
		})
	}
}

func TestAppendHeadTooLarge(t *testing.T) {
	c := &Client{MaxParamsBytes: 100}
	_, err := c.appendHead(nil, []string{"A=" + strings.Repeat("x", 100)}, true)
	if !errors.Is(err, ErrParamsTooLarge) {
		t.Errorf("appendHead(101-byte pair) = %v; want ErrParamsTooLarge", err)
	}
	if _, err := c.appendHead(nil, []string{"A=" + strings.Repeat("x", 96)}, true); err != nil {
		t.Errorf("appendHead(100-byte pair) = %v; want nil", err)
	}
}
