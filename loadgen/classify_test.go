package loadgen

import "testing"

func TestClassifyError(t *testing.T) {
	tests := []struct {
		code uint16
		err  string
		want string
	}{
		{200, "", ""},
		{302, "", ""},
		{500, "500 Internal Server Error", ErrKindStatus5xx},
		{503, "503 Service Unavailable", ErrKindStatus5xx},
		{404, "404 Not Found", ErrKindStatus4xx},
		{101, "101 Switching Protocols", ErrKindOther},
		{0, `Get "http://127.0.0.1:1/": dial tcp 127.0.0.1:1: connect: connection refused`, ErrKindRefused},
		{0, `Get "http://127.0.0.1:9/": read tcp 127.0.0.1:5->127.0.0.1:9: read: connection reset by peer`, ErrKindReset},
		{0, `Post "http://127.0.0.1:9/": write tcp 127.0.0.1:5->127.0.0.1:9: write: broken pipe`, ErrKindReset},
		{0, `Get "http://127.0.0.1:9/": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, ErrKindTimeout},
		{0, `Get "http://127.0.0.1:9/": loadgen: fasthttp: timeout awaiting response`, ErrKindTimeout},
		{0, `Get "http://10.0.0.1:9/": dial tcp 10.0.0.1:9: i/o timeout`, ErrKindTimeout},
		{0, `Get "http://127.0.0.1:9/": EOF`, ErrKindEOF},
		{0, `Get "http://127.0.0.1:9/": loadgen: fasthttp: EOF (server closed connection before the first response byte)`, ErrKindEOF},
		{0, `Get "http://127.0.0.1:9/": unexpected EOF`, ErrKindEOF},
		{0, `Get "http://127.0.0.1:9/": net/http: HTTP/1.x transport connection broken: malformed HTTP response`, ErrKindOther},
		{0, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.err, func(t *testing.T) {
			if got := ClassifyError(tt.code, tt.err); got != tt.want {
				t.Errorf("ClassifyError(%d, %q) = %q; want %q", tt.code, tt.err, got, tt.want)
			}
		})
	}
}
