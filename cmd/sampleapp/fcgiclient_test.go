package main

// A minimal FastCGI client, test-only: enough of the responder role to send
// one request on a fresh connection and read the CGI-style response back.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sort"
	"time"
)

const (
	fcgiBeginRequest = 1
	fcgiEndRequest   = 3
	fcgiParams       = 4
	fcgiStdin        = 5
	fcgiStdout       = 6
	fcgiStderr       = 7
	fcgiResponder    = 1
)

// writeRecord writes one FastCGI record for request id 1.
func writeRecord(w io.Writer, typ byte, content []byte) error {
	if len(content) > 0xffff {
		return fmt.Errorf("record of %d bytes", len(content))
	}
	h := [8]byte{1, typ, 0, 1}
	binary.BigEndian.PutUint16(h[4:], uint16(len(content)))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(content)
	return err
}

// appendLen appends a FastCGI name-value length.
func appendLen(b []byte, n int) []byte {
	if n < 128 {
		return append(b, byte(n))
	}
	return binary.BigEndian.AppendUint32(b, uint32(n)|1<<31)
}

// fcgiRequest sends one request and returns its stdout and stderr streams.
func fcgiRequest(network, addr string, params map[string]string, body []byte) (stdout, stderr []byte, err error) {
	c, err := net.DialTimeout(network, addr, 10*time.Second)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))

	var out bytes.Buffer
	writeRecord(&out, fcgiBeginRequest, []byte{0, fcgiResponder, 0, 0, 0, 0, 0, 0})
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var p []byte
	for _, k := range keys {
		p = appendLen(p, len(k))
		p = appendLen(p, len(params[k]))
		p = append(p, k...)
		p = append(p, params[k]...)
	}
	writeRecord(&out, fcgiParams, p)
	writeRecord(&out, fcgiParams, nil)
	for len(body) > 0 {
		n := min(len(body), 0xffff)
		writeRecord(&out, fcgiStdin, body[:n])
		body = body[n:]
	}
	writeRecord(&out, fcgiStdin, nil)
	if _, err := c.Write(out.Bytes()); err != nil {
		return nil, nil, err
	}

	var so, se bytes.Buffer
	for {
		var h [8]byte
		if _, err := io.ReadFull(c, h[:]); err != nil {
			return nil, nil, fmt.Errorf("reading record header: %w", err)
		}
		content := make([]byte, int(binary.BigEndian.Uint16(h[4:]))+int(h[6]))
		if _, err := io.ReadFull(c, content); err != nil {
			return nil, nil, fmt.Errorf("reading record: %w", err)
		}
		content = content[:binary.BigEndian.Uint16(h[4:])]
		switch h[1] {
		case fcgiStdout:
			so.Write(content)
		case fcgiStderr:
			se.Write(content)
		case fcgiEndRequest:
			return so.Bytes(), se.Bytes(), nil
		default:
			return nil, nil, fmt.Errorf("unexpected record type %d", h[1])
		}
	}
}
