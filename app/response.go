package app

// This file holds the response plumbing every endpoint shares: the headers
// that make responses identical across deployments, the buffer pool, and
// Recover for servers that have no panic recovery of their own.

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// headerValues are the header values shared by every response of one App.
// They are never mutated; sharing the slices saves an allocation per header
// per request.
type headerValues struct {
	server, text, plain, json, html, octet []string
}

func newHeaderValues() headerValues {
	return headerValues{
		server: []string{ServerName},
		text:   []string{"text/plain; charset=utf-8"},
		plain:  []string{"text/plain"}, // TechEmpower's /plaintext type
		json:   []string{"application/json"},
		html:   []string{"text/html; charset=utf-8"},
		octet:  []string{"application/octet-stream"},
	}
}

// dateCache is the Date header for one wall-clock second, so that a busy
// server formats it once a second instead of once a request.
type dateCache struct {
	unix  int64
	value []string
}

// dateHeader returns the Date header value for now.
func (a *App) dateHeader() []string {
	now := a.cfg.Now()
	sec := now.Unix()
	if d := a.date.Load(); d != nil && d.unix == sec {
		return d.value
	}
	d := &dateCache{unix: sec, value: []string{now.UTC().Format(http.TimeFormat)}}
	a.date.Store(d)
	return d.value
}

// setHeaders sets the headers every response carries.
func setHeaders(h http.Header, server, date, ctype []string, length int64) {
	h["Server"] = server
	h["Date"] = date
	h["Content-Type"] = ctype
	h["Content-Length"] = []string{strconv.FormatInt(length, 10)}
}

// write sends a complete response whose body is already built, in one Write,
// and no body at all for HEAD.
func (a *App) write(w http.ResponseWriter, r *http.Request, status int, ctype []string, body []byte) {
	setHeaders(w.Header(), a.hdr.server, a.dateHeader(), ctype, int64(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead && len(body) > 0 {
		w.Write(body)
	}
}

// staticResponse is a 200 whose body never changes, prepared at start-up so
// that serving it allocates nothing of its own.
type staticResponse struct {
	ctype, length []string
	body          []byte
}

func newStatic(ctype []string, body string) staticResponse {
	return staticResponse{ctype: ctype, length: []string{strconv.Itoa(len(body))}, body: []byte(body)}
}

func (a *App) writeStatic(w http.ResponseWriter, r *http.Request, s *staticResponse) {
	h := w.Header()
	h["Server"] = a.hdr.server
	h["Date"] = a.dateHeader()
	h["Content-Type"] = s.ctype
	h["Content-Length"] = s.length
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(s.body)
	}
}

// writeText is write for a short text/plain body (errors, mostly).
func (a *App) writeText(w http.ResponseWriter, r *http.Request, status int, body string) {
	a.write(w, r, status, a.hdr.text, []byte(body))
}

// badRequest answers 400 with the one-line reason.
func (a *App) badRequest(w http.ResponseWriter, r *http.Request, reason string) {
	a.writeText(w, r, http.StatusBadRequest, "bad request: "+reason+"\n")
}

// internalError answers 500 and logs err unless the client has gone, in
// which case nobody reads the answer and the error is not the app's.
func (a *App) internalError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() == nil {
		a.cfg.Logf("app: %s %s: %v", r.Method, r.URL.Path, err)
	}
	a.writeText(w, r, http.StatusInternalServerError, "internal server error\n")
}

// getBuf and putBuf recycle response buffers. Buffers that grew past
// maxPooledBuf (a large /echo) are dropped so the pool does not pin memory.
func (a *App) getBuf() *[]byte {
	if b, ok := a.bufs.Get().(*[]byte); ok {
		*b = (*b)[:0]
		return b
	}
	b := make([]byte, 0, 4096)
	return &b
}

const maxPooledBuf = 64 << 10

func (a *App) putBuf(b *[]byte) {
	if cap(*b) <= maxPooledBuf {
		a.bufs.Put(b)
	}
}

// Recover turns a panic in h into a 500 for that request only, and logs it
// through logf (nil discards). net/http recovers handler panics itself, but
// net/http/fcgi does not: there one panicking request would take the whole
// daemon, and every request in flight, down with it. If the handler had
// already started its response, the 500 cannot be sent; the panic is logged
// and the response is left short, which its Content-Length exposes.
// http.ErrAbortHandler is honoured as an abort and not logged.
func Recover(h http.Handler, logf func(format string, args ...any)) http.Handler {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &trackingWriter{ResponseWriter: w}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p != http.ErrAbortHandler {
				logf("app: panic serving %s %s: %v", r.Method, r.URL.Path, p)
			}
			if tw.started {
				return
			}
			const body = "internal server error\n"
			hdr := w.Header()
			clear(hdr)
			setHeaders(hdr, []string{ServerName}, []string{time.Now().UTC().Format(http.TimeFormat)},
				[]string{"text/plain; charset=utf-8"}, int64(len(body)))
			w.WriteHeader(http.StatusInternalServerError)
			if r.Method != http.MethodHead {
				fmt.Fprint(w, body)
			}
		}()
		h.ServeHTTP(tw, r)
	})
}

// trackingWriter records whether the response has started, which decides
// whether Recover can still send a 500.
type trackingWriter struct {
	http.ResponseWriter
	started bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.started = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(p []byte) (int, error) {
	t.started = true
	return t.ResponseWriter.Write(p)
}

// Flush passes through so streaming handlers keep working under Recover.
func (t *trackingWriter) Flush() {
	t.started = true
	http.NewResponseController(t.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (t *trackingWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
