package fcgi

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"maps"
	"net"
	"testing"
	"time"
)

// FuzzReadRecord feeds arbitrary bytes to the record reader: it must
// consume exactly what each header announces, never panic, and read back
// what it would write.
func FuzzReadRecord(f *testing.F) {
	f.Add(appendRecords(nil, typeStdout, 1, []byte("Status: 200 OK\r\n\r\nhi")))
	f.Add(appendEndRequest(nil, 1, 0, statusRequestComplete))
	f.Add(appendRecords(nil, typeParams, 1, appendPair(appendPair(nil, "A", "b"), "LONG", string(make([]byte, 200)))))
	f.Add([]byte{1, 6, 0, 1, 0xFF, 0xFF, 0xFF, 0})
	f.Add([]byte{2, 6, 0, 1, 0, 0, 0, 0})
	buf := make([]byte, maxRecord)
	buf2 := make([]byte, maxRecord)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		for {
			before := r.Len()
			h, content, err := readRecord(r, buf)
			if err != nil {
				if errors.Is(err, io.EOF) && before != 0 {
					t.Fatalf("io.EOF with %d bytes left", before)
				}
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrMalformedRecord) {
					t.Fatalf("readRecord error %v wraps neither io.EOF nor ErrMalformedRecord", err)
				}
				return
			}
			used := before - r.Len()
			if want := headerLen + int(h.ContentLength) + int(h.PaddingLength); used != want || len(content) != int(h.ContentLength) {
				t.Fatalf("record consumed %d bytes, content %d; header says %d, %d", used, len(content), want, h.ContentLength)
			}
			again := appendRecords(nil, h.Type, h.ID, content)
			h2, c2, err := readRecord(bytes.NewReader(again), buf2)
			if err != nil || h2.Type != h.Type || h2.ID != h.ID || !bytes.Equal(c2, content) {
				t.Fatalf("round trip = %+v %x, %v; want %+v %x", h2, c2, err, h, content)
			}
			var pairs [][2]string
			if parsePairs(content, func(n, v []byte) { pairs = append(pairs, [2]string{string(n), string(v)}) }) == nil {
				var enc []byte
				for _, p := range pairs {
					enc = appendPair(enc, p[0], p[1])
				}
				i := 0
				err := parsePairs(enc, func(n, v []byte) {
					if string(n) != pairs[i][0] || string(v) != pairs[i][1] {
						t.Fatalf("pair %d round trip = %q=%q; want %q=%q", i, n, v, pairs[i][0], pairs[i][1])
					}
					i++
				})
				if err != nil || i != len(pairs) {
					t.Fatalf("pairs round trip: %d of %d, %v", i, len(pairs), err)
				}
			}
		}
	})
}

// FuzzClientResponse feeds arbitrary bytes as the daemon's whole reply to
// one request: the client must return an error or a response whose body
// ends, in bounded time, without panicking.
func FuzzClientResponse(f *testing.F) {
	head := "Status: 404 Not Found\r\nContent-Type: text/plain\r\n\r\n"
	f.Add(reply(stdoutRec(head+"body"), stdoutRec(""), endRec(statusRequestComplete)))
	f.Add(reply(stderrRec("oops"), stdoutRec(head), stdoutRec("a"), stdoutRec(""), endRec(statusRequestComplete)))
	f.Add(reply(stdoutRec(head+"x"), endRec(statusOverloaded)))
	f.Add(endRec(statusRequestComplete))
	f.Add(stdoutRec(head + "truncated")[:30])
	f.Add(appendRecords(nil, typeGetValuesResult, 0, appendPair(nil, "FCGI_MPXS_CONNS", "0")))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &Client{
			Pool: &Pool{Dial: func(context.Context) (net.Conn, error) {
				client, daemon := net.Pipe()
				go func() {
					go io.Copy(io.Discard, daemon) // the request
					daemon.Write(data)
					daemon.Close()
				}()
				return client, nil
			}},
			Timeout:  5 * time.Second,
			ErrorLog: log.New(io.Discard, "", 0),
		}
		done := make(chan error, 1)
		go func() {
			resp, err := c.Do(context.Background(), []string{"REQUEST_METHOD=GET", "PATH_INFO=/"}, nil)
			if err != nil {
				done <- err
				return
			}
			if resp.Status < 200 || resp.Status > 599 {
				done <- errStatusRange
				return
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil && errors.Is(err, errStatusRange) {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("client hangs on a reply that ended")
		}
		if s := c.Pool.Stats(); s.Open != s.Idle {
			t.Fatalf("pool stats %+v: a connection is still busy after Close", s)
		}
		c.Pool.Close()
	})
}

var errStatusRange = errors.New("status out of range")

// FuzzGetValues feeds arbitrary bytes as the daemon's reply to
// FCGI_GET_VALUES: the reader must return an error or variables that
// survive a round trip, and the pool plan drawn from them must be sane.
func FuzzGetValues(f *testing.F) {
	f.Add(appendRecords(nil, typeGetValuesResult, 0, appendPair(nil, ValueMpxsConns, "0")))
	f.Add(appendRecords(nil, typeGetValuesResult, 0, appendPair(appendPair(nil, ValueMaxConns, "4"), ValueMaxReqs, "4")))
	f.Add(appendRecords(nil, typeUnknownType, 0, []byte{byte(typeGetValues), 0, 0, 0, 0, 0, 0, 0}))
	f.Add(appendRecords(nil, typeGetValuesResult, 1, nil))
	f.Add(appendRecords(nil, typeGetValuesResult, 0, []byte{0x80, 0, 0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		vals, err := readValues(bufio.NewReader(bytes.NewReader(data)))
		if err != nil {
			if vals != nil {
				t.Fatalf("readValues = %v with error %v; want no values", vals, err)
			}
			return
		}
		var pairs []byte
		for k, v := range vals {
			pairs = appendPair(pairs, k, v)
		}
		again, err := readValues(bufio.NewReader(bytes.NewReader(appendRecords(nil, typeGetValuesResult, 0, pairs))))
		if err != nil || !maps.Equal(again, vals) {
			t.Fatalf("round trip = %v, %v; want %v", again, err, vals)
		}
		for _, cfg := range []Config{{KeepConn: true}, {KeepConn: false}, {KeepConn: true, MaxConns: 3}} {
			p := planPool(cfg, vals, nil)
			if p.maxOpen <= 0 || p.why == "" || (p.keep && !cfg.KeepConn) {
				t.Fatalf("planPool(%+v, %v) = %+v; want a positive bound, a reason, no keeping unless configured", cfg, vals, p)
			}
		}
	})
}
