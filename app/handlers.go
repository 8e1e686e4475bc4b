package app

// This file holds the endpoints. Each builds its whole body before writing,
// so a response goes out in one Write with an exact Content-Length.

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"
)

func (a *App) plaintext(w http.ResponseWriter, r *http.Request) {
	a.writeStatic(w, r, &a.plainResp)
}

// JSONBody is the /json body. It is serialized once, not per request as
// TechEmpower asks: encoding a constant measures encoding/json, and what
// forkbench compares is the deployment around it.
const JSONBody = `{"message":"` + HelloWorld + `"}`

func (a *App) json(w http.ResponseWriter, r *http.Request) {
	a.writeStatic(w, r, &a.jsonResp)
}

// dbOne answers /db[?id=N]: one world row, a random one unless id is given.
func (a *App) dbOne(w http.ResponseWriter, r *http.Request) {
	s, ok, err := queryValue(r.URL.RawQuery, "id")
	if err != nil {
		a.badRequest(w, r, "id: malformed query")
		return
	}
	var id int
	if ok {
		if id, err = strconv.Atoi(s); err != nil || id < 1 || id > WorldRows {
			a.badRequest(w, r, "id must be an integer in 1.."+strconv.Itoa(WorldRows))
			return
		}
	} else {
		id = rand.IntN(WorldRows) + 1
	}
	bp := a.getBuf()
	defer a.putBuf(bp)
	buf, err := a.appendWorld(r, *bp, id)
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	*bp = buf
	a.write(w, r, http.StatusOK, a.hdr.json, buf)
}

// appendWorld reads world row id and appends it as a JSON object.
func (a *App) appendWorld(r *http.Request, dst []byte, id int) ([]byte, error) {
	var rn int
	if err := a.worldStmt.QueryRowContext(r.Context(), id).Scan(&rn); err != nil {
		return dst, err
	}
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendInt(dst, int64(id), 10)
	dst = append(dst, `,"randomNumber":`...)
	dst = strconv.AppendInt(dst, int64(rn), 10)
	return append(dst, '}'), nil
}

// queryCount applies TechEmpower's clamping to /queries?n: missing,
// non-numeric or below 1 reads 1 row, above MaxQueries reads MaxQueries.
func queryCount(s string) int {
	n, err := strconv.Atoi(s)
	switch {
	case errors.Is(err, strconv.ErrRange) && s[0] != '-':
		return MaxQueries
	case err != nil || n < 1:
		return 1
	default:
		return min(n, MaxQueries)
	}
}

// queries answers /queries?n=N[&seed=S]: N rows read one query each, their
// ids reproducible (QueryIDs) when a seed is given.
func (a *App) queries(w http.ResponseWriter, r *http.Request) {
	s, _, err := queryValue(r.URL.RawQuery, "n")
	if err != nil {
		s = "" // unreadable counts as missing: TechEmpower clamps, never refuses
	}
	n := queryCount(s)
	nextID := func() int { return rand.IntN(WorldRows) + 1 }
	if seed, ok, err := queryValue(r.URL.RawQuery, "seed"); err != nil {
		a.badRequest(w, r, "seed: malformed query")
		return
	} else if ok {
		v, err := strconv.ParseUint(seed, 10, 64)
		if err != nil {
			a.badRequest(w, r, "seed must be an unsigned 64-bit integer")
			return
		}
		rng := queryRand(v)
		nextID = func() int { return rng.IntN(WorldRows) + 1 }
	}

	bp := a.getBuf()
	defer a.putBuf(bp)
	buf := append(*bp, '[')
	for i := range n {
		if i > 0 {
			buf = append(buf, ',')
		}
		if buf, err = a.appendWorld(r, buf, nextID()); err != nil {
			*bp = buf
			a.internalError(w, r, err)
			return
		}
	}
	buf = append(buf, ']')
	*bp = buf
	a.write(w, r, http.StatusOK, a.hdr.json, buf)
}

// fortunesPage answers /fortunes: the table plus AdditionalFortune, sorted
// by message and rendered through html/template.
func (a *App) fortunesPage(w http.ResponseWriter, r *http.Request) {
	rows, err := a.fortStmt.QueryContext(r.Context())
	if err != nil {
		a.internalError(w, r, err)
		return
	}
	fs := make([]Fortune, 0, 16)
	for rows.Next() {
		var f Fortune
		if err := rows.Scan(&f.ID, &f.Message); err != nil {
			rows.Close()
			a.internalError(w, r, err)
			return
		}
		fs = append(fs, f)
	}
	if err := rows.Err(); err != nil {
		a.internalError(w, r, err)
		return
	}
	fs = append(fs, Fortune{ID: 0, Message: AdditionalFortune})
	slices.SortFunc(fs, func(x, y Fortune) int { return cmp.Compare(x.Message, y.Message) })

	bp := a.getBuf()
	defer a.putBuf(bp)
	buf := bytes.NewBuffer(*bp)
	if err := a.fortunes.Execute(buf, fs); err != nil {
		a.internalError(w, r, err)
		return
	}
	*bp = buf.Bytes()
	a.write(w, r, http.StatusOK, a.hdr.html, *bp)
}

// echo answers POST /echo with the request body. A body over EchoLimit gets
// 413: refused up front when Content-Length says so, and cut off while
// reading when the length is unknown or wrong.
func (a *App) echo(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > a.cfg.EchoLimit {
		a.tooLarge(w, r)
		return
	}
	bp := a.getBuf()
	defer a.putBuf(bp)
	buf := bytes.NewBuffer(*bp)
	if r.Body != nil { // a CGI child's request has no Body when it is empty
		if r.ContentLength > 0 {
			buf.Grow(int(r.ContentLength))
		}
		_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, a.cfg.EchoLimit))
		var tooBig *http.MaxBytesError
		switch {
		case errors.As(err, &tooBig):
			a.tooLarge(w, r)
			return
		case err != nil:
			a.badRequest(w, r, "reading body failed")
			return
		}
	}
	*bp = buf.Bytes()
	a.write(w, r, http.StatusOK, a.hdr.octet, *bp)
}

func (a *App) tooLarge(w http.ResponseWriter, r *http.Request) {
	a.writeText(w, r, http.StatusRequestEntityTooLarge,
		"request body too large: limit "+strconv.FormatInt(a.cfg.EchoLimit, 10)+" bytes\n")
}

// intParam reads a required integer parameter in [0, limit].
func intParam(raw, key string, limit int64) (int64, bool) {
	s, ok, err := queryValue(raw, key)
	if err != nil || !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > limit {
		return 0, false
	}
	return n, true
}

// workCheck is how many SHA-256 rounds /work runs between looks at the
// request's context.
const workCheck = 4096

// work answers /work?n=N with WorkDigest(N) in hex: CPU-bound work whose
// result proves it was done.
func (a *App) work(w http.ResponseWriter, r *http.Request) {
	n, ok := intParam(r.URL.RawQuery, "n", int64(a.cfg.MaxWork))
	if !ok {
		a.badRequest(w, r, "n must be an integer in 0.."+strconv.Itoa(a.cfg.MaxWork))
		return
	}
	// Rounds in slices between context checks so an abandoned request stops
	// burning the CPU the next request is measured on.
	var d [sha256.Size]byte
	ctx := r.Context()
	for done := int64(0); done < n; {
		step := min(n-done, workCheck)
		d = chain(d, int(step))
		done += step
		if done < n && ctx.Err() != nil {
			a.internalError(w, r, ctx.Err())
			return
		}
	}
	var body [2*len(d) + 1]byte
	hex.Encode(body[:], d[:])
	body[len(body)-1] = '\n'
	a.write(w, r, http.StatusOK, a.hdr.text, body[:])
}

// sleep answers /sleep?ms=N after N milliseconds, or sooner if the request
// is cancelled.
func (a *App) sleep(w http.ResponseWriter, r *http.Request) {
	ms, ok := intParam(r.URL.RawQuery, "ms", a.cfg.MaxSleep.Milliseconds())
	if !ok {
		a.badRequest(w, r, "ms must be an integer in 0.."+strconv.FormatInt(a.cfg.MaxSleep.Milliseconds(), 10))
		return
	}
	t := time.NewTimer(time.Duration(ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		a.internalError(w, r, r.Context().Err())
		return
	}
	var buf [48]byte
	body := append(buf[:0], "slept "...)
	body = strconv.AppendInt(body, ms, 10)
	body = append(body, " ms\n"...)
	a.write(w, r, http.StatusOK, a.hdr.text, body)
}

// bytes answers /bytes?n=N with the first N bytes of the payload (see
// AppendPayload), written from the pattern built at start-up: in one Write
// up to its size, in chunks of it beyond.
func (a *App) bytes(w http.ResponseWriter, r *http.Request) {
	n, ok := intParam(r.URL.RawQuery, "n", a.cfg.MaxBytes)
	if !ok {
		a.badRequest(w, r, "n must be an integer in 0.."+strconv.FormatInt(a.cfg.MaxBytes, 10))
		return
	}
	setHeaders(w.Header(), a.hdr.server, a.dateHeader(), a.hdr.octet, n)
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	for n > 0 {
		chunk := a.payload[:min(n, int64(len(a.payload)))]
		if _, err := w.Write(chunk); err != nil {
			return // the client has gone; nothing to tell it
		}
		n -= int64(len(chunk))
	}
}

// chain runs n more rounds of WorkDigest's SHA-256 chain from d.
func chain(d [sha256.Size]byte, n int) [sha256.Size]byte {
	for range n {
		d = sha256.Sum256(d[:])
	}
	return d
}
