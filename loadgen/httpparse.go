package loadgen

// This file is the epoll engine's HTTP/1.1 wire format (see
// epoll_linux.go): buildRequest serializes the one request it repeats, and
// respParser reads the answers. The parser is incremental because a non-blocking read returns
// whatever the kernel holds, which may end anywhere in a response, and it
// never copies or keeps a body: the engine only needs the status code, the
// body's length and whether the connection may be reused. It is portable
// code, kept apart from the Linux-only engine so that its tests and fuzz
// target run anywhere.

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// buildRequest serializes one HTTP/1.1 request: the request line, Host
// (header's Host if set, as closedLoop does, else host), the other headers
// sorted by name (so that the bytes, and a golden test, are deterministic),
// Content-Length when there is a body or the method is POST, PUT or PATCH
// (a server may refuse those without it), "Connection: close" when
// !keepAlive or when header asks for it, then the body. Content-Length,
// Connection and Transfer-Encoding in header are not copied: they are set
// from the arguments, as net/http does. CR and LF in values become spaces,
// as net/http's Header.Write does, so a value cannot break the framing.
func buildRequest(method, requestURI, host string, header http.Header, body []byte, keepAlive bool) []byte {
	if requestURI == "" {
		requestURI = "/"
	}
	if h := header.Get("Host"); h != "" {
		host = h
	}
	if headerHasToken(header["Connection"], "close") {
		keepAlive = false
	}
	names := make([]string, 0, len(header))
	for k := range header {
		switch http.CanonicalHeaderKey(k) {
		case "Host", "Content-Length", "Connection", "Transfer-Encoding":
			continue
		}
		names = append(names, k)
	}
	slices.Sort(names)
	clean := strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ")
	b := make([]byte, 0, 128+len(body))
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, requestURI...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, clean.Replace(host)...)
	b = append(b, "\r\n"...)
	for _, k := range names {
		for _, v := range header[k] {
			b = append(b, k...)
			b = append(b, ": "...)
			b = append(b, clean.Replace(v)...)
			b = append(b, "\r\n"...)
		}
	}
	switch {
	case len(body) > 0, method == http.MethodPost, method == http.MethodPut, method == http.MethodPatch:
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	if !keepAlive {
		b = append(b, "Connection: close\r\n"...)
	}
	b = append(b, "\r\n"...)
	return append(b, body...)
}

// Limits of the response parser. A response over them is an error, not a
// reason to buffer without bound.
const (
	// maxResponseHead bounds the status line and headers together, and
	// separately the trailers of a chunked body.
	maxResponseHead = 64 << 10
	// maxChunkLine bounds a chunk-size line with its extensions.
	maxChunkLine = 4 << 10
)

// errMalformed is wrapped by every error the parser returns for bad input.
var errMalformed = errors.New("malformed HTTP response")

// parseState is where a respParser is in a response.
type parseState uint8

const (
	psStatus     parseState = iota // awaiting the status line
	psHeaders                      // in the header section
	psBodyLength                   // in a body of known length
	psBodyEOF                      // in a body that ends when the connection does
	psChunkSize                    // awaiting a chunk-size line
	psChunkData                    // in a chunk's data
	psChunkEnd                     // awaiting the CRLF after a chunk's data
	psTrailers                     // in the trailer section of a chunked body
	psDone                         // the response is complete
)

// respParser parses one HTTP/1.1 response at a time, incrementally. The
// caller keeps the bytes feed did not consume (an incomplete line) and
// presents them again, followed by what it read since, on the next call.
// It allocates nothing.
type respParser struct {
	state    parseState
	head     bool  // the request was HEAD: no body whatever the headers say
	started  bool  // a byte of this response has been seen
	code     int   // status code of the final response
	minor    int   // HTTP minor version of the response
	bodyLen  int64 // body bytes seen (decoded, for chunked)
	remain   int64 // bytes left in the body or the current chunk
	headLen  int   // bytes of the head (or trailers) consumed so far
	clen     int64 // Content-Length, or -1
	chunked  bool  // Transfer-Encoding ends in chunked
	teOther  bool  // Transfer-Encoding present but not chunked
	close    bool  // the response said Connection: close
	keepConn bool  // the response said Connection: keep-alive
}

// reset prepares p for the response to a new request; head says whether
// that request was HEAD.
func (p *respParser) reset(head bool) {
	*p = respParser{head: head, clen: -1}
}

// done reports whether the response is complete.
func (p *respParser) done() bool { return p.state == psDone }

// reusable reports whether the connection may carry another request once
// the response is complete: not after Connection: close, not after an
// HTTP/1.0 response without keep-alive, not when the body ran to EOF.
func (p *respParser) reusable() bool {
	if p.close || p.state != psDone {
		return false
	}
	if p.minor == 0 && !p.keepConn {
		return false
	}
	return p.code != 101 // the connection now speaks something else
}

// feed parses b, a prefix of what remains of the response (and possibly
// bytes after it). It returns how many bytes it consumed; the rest, when
// the response is not done, is an incomplete line the caller must present
// again with more bytes after it. Bytes after a complete response are not
// consumed.
func (p *respParser) feed(b []byte) (int, error) {
	n := 0
	if len(b) > 0 {
		p.started = true
	}
	for n < len(b) && p.state != psDone {
		switch p.state {
		case psBodyLength, psChunkData:
			k := int64(len(b) - n)
			if k > p.remain {
				k = p.remain
			}
			n += int(k)
			p.remain -= k
			p.bodyLen += k
			if p.remain == 0 {
				if p.state == psBodyLength {
					p.state = psDone
				} else {
					p.state = psChunkEnd
				}
			}
			continue
		case psBodyEOF:
			p.bodyLen += int64(len(b) - n)
			n = len(b)
			continue
		}
		// The other states read whole lines.
		i := bytes.IndexByte(b[n:], '\n')
		if i < 0 {
			if err := p.checkPending(len(b) - n); err != nil {
				return n, err
			}
			return n, nil
		}
		line := b[n : n+i]
		if p.state == psStatus || p.state == psHeaders || p.state == psTrailers {
			p.headLen += i + 1
			if p.headLen > maxResponseHead {
				return n, fmt.Errorf("%w: header section over %d bytes", errMalformed, maxResponseHead)
			}
		} else if i+1 > maxChunkLine {
			return n, fmt.Errorf("%w: chunk-size line over %d bytes", errMalformed, maxChunkLine)
		}
		n += i + 1
		if len(line) > 0 && line[len(line)-1] == '\r' {
			line = line[:len(line)-1]
		}
		if err := p.line(line); err != nil {
			return n, err
		}
	}
	return n, nil
}

// checkPending fails when an incomplete line of k bytes already exceeds
// its limit, so that the caller never buffers more than the limit.
func (p *respParser) checkPending(k int) error {
	switch p.state {
	case psStatus, psHeaders, psTrailers:
		if p.headLen+k > maxResponseHead {
			return fmt.Errorf("%w: header section over %d bytes", errMalformed, maxResponseHead)
		}
	default:
		if k > maxChunkLine {
			return fmt.Errorf("%w: chunk-size line over %d bytes", errMalformed, maxChunkLine)
		}
	}
	return nil
}

// line handles one line (without its line terminator) in a line state.
func (p *respParser) line(line []byte) error {
	switch p.state {
	case psStatus:
		return p.statusLine(line)
	case psHeaders:
		if len(line) == 0 {
			return p.endHead()
		}
		return p.header(line)
	case psChunkSize:
		size, err := parseChunkSize(line)
		if err != nil {
			return err
		}
		if size == 0 {
			p.state, p.headLen = psTrailers, 0
		} else {
			p.state, p.remain = psChunkData, size
		}
	case psChunkEnd:
		if len(line) != 0 {
			return fmt.Errorf("%w: chunk data longer than its size", errMalformed)
		}
		p.state = psChunkSize
	case psTrailers:
		if len(line) == 0 {
			p.state = psDone
		}
	}
	return nil
}

// statusLine parses "HTTP/1.x SP 3DIGIT [SP reason]".
func (p *respParser) statusLine(line []byte) error {
	if len(line) < 12 || string(line[:7]) != "HTTP/1." || line[7] < '0' || line[7] > '9' ||
		line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return fmt.Errorf("%w: bad status line %q", errMalformed, clip(line))
	}
	code := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return fmt.Errorf("%w: bad status code in %q", errMalformed, clip(line))
		}
		code = code*10 + int(c-'0')
	}
	if code < 100 {
		return fmt.Errorf("%w: bad status code in %q", errMalformed, clip(line))
	}
	p.code, p.minor = code, int(line[7]-'0')
	p.state = psHeaders
	return nil
}

// header handles one header line, looking only at the headers that frame
// the body or decide the connection's reuse.
func (p *respParser) header(line []byte) error {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return fmt.Errorf("%w: bad header line %q", errMalformed, clip(line))
	}
	name, value := line[:colon], trimOWS(line[colon+1:])
	for _, c := range name {
		if c <= ' ' || c >= 0x7f {
			return fmt.Errorf("%w: bad header name %q", errMalformed, clip(name))
		}
	}
	switch {
	case asciiEqualFold(name, "content-length"):
		n, ok := parseDecimal(value)
		if !ok || (p.clen >= 0 && p.clen != n) {
			return fmt.Errorf("%w: bad Content-Length %q", errMalformed, clip(value))
		}
		p.clen = n
	case asciiEqualFold(name, "transfer-encoding"):
		// The last coding decides the framing (RFC 9112, 6.3).
		last := value
		if i := bytes.LastIndexByte(value, ','); i >= 0 {
			last = trimOWS(value[i+1:])
		}
		if asciiEqualFold(last, "chunked") {
			p.chunked, p.teOther = true, false
		} else {
			p.chunked, p.teOther = false, true
		}
	case asciiEqualFold(name, "connection"):
		if hasToken(value, "close") {
			p.close = true
		}
		if hasToken(value, "keep-alive") {
			p.keepConn = true
		}
	}
	return nil
}

// endHead decides how the body is framed once the head is complete.
func (p *respParser) endHead() error {
	switch {
	case p.code < 200 && p.code != 101:
		// An interim response (100 Continue, 103 Early Hints): the
		// final one follows.
		head := p.head
		p.reset(head)
		p.started = true
		return nil
	case p.head || p.code < 200 || p.code == 204 || p.code == 304:
		p.state = psDone
	case p.chunked:
		p.state = psChunkSize
	case p.teOther:
		p.state = psBodyEOF // RFC 9112, 6.3: read until the connection closes
	case p.clen == 0:
		p.state = psDone
	case p.clen > 0:
		p.state, p.remain = psBodyLength, p.clen
	default:
		p.state = psBodyEOF
	}
	return nil
}

// eof tells p that the connection closed. It returns nil when that
// completed the response (a body delimited by the connection's end), an
// error otherwise, worded so that ClassifyError gives "eof".
func (p *respParser) eof() error {
	switch {
	case p.state == psDone:
		return nil
	case p.state == psBodyEOF:
		p.state = psDone
		return nil
	case !p.started:
		return errServerClosed
	}
	return errUnexpectedEOF
}

var (
	errServerClosed  = errors.New("EOF (server closed connection before the first response byte)")
	errUnexpectedEOF = errors.New("unexpected EOF")
)

// parseChunkSize parses a chunk-size line: hex digits, then optional
// whitespace and extensions after ';'.
func parseChunkSize(line []byte) (int64, error) {
	var size int64
	i := 0
	for ; i < len(line); i++ {
		c := line[i]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			goto rest
		}
		if i >= 15 {
			return 0, fmt.Errorf("%w: chunk size too large", errMalformed)
		}
		size = size<<4 | int64(d)
	}
rest:
	if i == 0 {
		return 0, fmt.Errorf("%w: bad chunk size %q", errMalformed, clip(line))
	}
	rest := trimOWS(line[i:])
	if len(rest) > 0 && rest[0] != ';' {
		return 0, fmt.Errorf("%w: bad chunk size %q", errMalformed, clip(line))
	}
	return size, nil
}

// parseDecimal parses a non-negative decimal of at most 18 digits.
func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// hasToken reports whether the comma-separated list v holds token,
// case-insensitively; token is lower case.
func hasToken(v []byte, token string) bool {
	for len(v) > 0 {
		f := v
		if i := bytes.IndexByte(v, ','); i >= 0 {
			f, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		if asciiEqualFold(trimOWS(f), token) {
			return true
		}
	}
	return false
}

// asciiEqualFold reports whether b equals the lower-case ASCII s, ignoring
// case; unlike bytes.EqualFold it needs no []byte of s.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		c := b[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// trimOWS trims the optional white space (space, HTAB) around a value.
func trimOWS(b []byte) []byte { return bytes.Trim(b, " \t") }

// clip shortens b for an error message.
func clip(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}
