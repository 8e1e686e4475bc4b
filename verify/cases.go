// Package verify checks that a deployment answers exactly as the sample
// app's specification says, and that every deployment answers byte for
// byte alike (the Date value aside): a figure comparing CGI with FastCGI
// means nothing if the two serve different responses. It follows
// TechEmpower's verification: exact bodies where they are deterministic,
// parsed and checked content where they are not (random /db rows,
// fortunes HTML).
package verify

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"forkbench/app"
)

// Case is one request of the verification set and the check of its
// response against the app's specification.
type Case struct {
	Name   string
	Method string
	Path   string
	Body   []byte
	// Status and ContentType are the exact expected values.
	Status      int
	ContentType string
	// Check validates the body beyond status and type; nil means the body
	// is not checked beyond being identical across deployments.
	Check func(body []byte) error
	// Varies marks responses that legitimately differ between requests
	// (a random row), excluded from the cross-deployment byte comparison.
	Varies bool
}

const (
	ctPlain = "text/plain"
	ctText  = "text/plain; charset=utf-8"
	ctJSON  = "application/json"
	ctHTML  = "text/html; charset=utf-8"
	ctOctet = "application/octet-stream"
)

func exact(want string) func([]byte) error {
	return func(b []byte) error {
		if string(b) != want {
			return fmt.Errorf("body = %q; want %q", clip(b), clip([]byte(want)))
		}
		return nil
	}
}

func clip(b []byte) string {
	if len(b) > 120 {
		return string(b[:120]) + "…"
	}
	return string(b)
}

type world struct {
	ID           int `json:"id"`
	RandomNumber int `json:"randomNumber"`
}

func worldJSON(id int) string {
	return fmt.Sprintf(`{"id":%d,"randomNumber":%d}`, id, app.RandomNumber(id))
}

func queriesJSON(seed uint64, n int) string {
	parts := make([]string, 0, n)
	for _, id := range app.QueryIDs(seed, n) {
		parts = append(parts, worldJSON(id))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func checkRandomRow(b []byte) error {
	var w world
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("body %q is not a world row: %v", clip(b), err)
	}
	if w.ID < 1 || w.ID > app.WorldRows || w.RandomNumber != app.RandomNumber(w.ID) {
		return fmt.Errorf("row %+v is not in the world table", w)
	}
	return nil
}

func badRequest(b []byte) error {
	if !bytes.HasPrefix(b, []byte("bad request: ")) || bytes.Count(b, []byte("\n")) != 1 || !bytes.HasSuffix(b, []byte("\n")) {
		return fmt.Errorf("body %q is not a one-line bad request reason", clip(b))
	}
	return nil
}

var fortuneRow = regexp.MustCompile(`<tr><td>(\d+)</td><td>(.*?)</td></tr>`)

// checkFortunes parses the table and checks TechEmpower's rules: every
// stored fortune plus the one added at request time, sorted by message,
// HTML-escaped (the <script> fortune must not appear raw).
func checkFortunes(b []byte) error {
	s := string(b)
	if !strings.HasPrefix(s, "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>") ||
		!strings.HasSuffix(s, "</table></body></html>") {
		return fmt.Errorf("fortunes page is not the expected HTML document: %q", clip(b))
	}
	if strings.Contains(s, "<script>") {
		return fmt.Errorf("fortunes page contains an unescaped <script>")
	}
	want := append(app.SeedFortunes(), app.Fortune{ID: 0, Message: app.AdditionalFortune})
	slices.SortFunc(want, func(a, b app.Fortune) int { return strings.Compare(a.Message, b.Message) })
	rows := fortuneRow.FindAllStringSubmatch(s, -1)
	if len(rows) != len(want) {
		return fmt.Errorf("fortunes page has %d rows; want %d", len(rows), len(want))
	}
	for i, r := range rows {
		id, _ := strconv.Atoi(r[1])
		msg := html.UnescapeString(r[2])
		if id != want[i].ID || msg != want[i].Message {
			return fmt.Errorf("fortune row %d = (%d, %q); want (%d, %q)", i, id, msg, want[i].ID, want[i].Message)
		}
	}
	return nil
}

// Cases returns the verification set: every endpoint, the TechEmpower
// clamping rules, invalid parameters, HEAD and a POST body.
func Cases() []Case {
	digest := app.WorkDigest(1000)
	echo := []byte("forkbench echo \x00\x01 body\n")
	return []Case{
		{Name: "plaintext", Method: "GET", Path: "/plaintext", Status: 200, ContentType: ctPlain, Check: exact(app.HelloWorld)},
		{Name: "plaintext HEAD", Method: "HEAD", Path: "/plaintext", Status: 200, ContentType: ctPlain, Check: exact("")},
		{Name: "json", Method: "GET", Path: "/json", Status: 200, ContentType: ctJSON, Check: exact(`{"message":"Hello, World!"}`)},
		{Name: "db id", Method: "GET", Path: "/db?id=42", Status: 200, ContentType: ctJSON, Check: exact(worldJSON(42))},
		{Name: "db random", Method: "GET", Path: "/db", Status: 200, ContentType: ctJSON, Check: checkRandomRow, Varies: true},
		{Name: "db bad id", Method: "GET", Path: "/db?id=abc", Status: 400, ContentType: ctText, Check: badRequest},
		{Name: "db id out of range", Method: "GET", Path: "/db?id=10001", Status: 400, ContentType: ctText, Check: badRequest},
		{Name: "queries seed", Method: "GET", Path: "/queries?n=5&seed=7", Status: 200, ContentType: ctJSON, Check: exact(queriesJSON(7, 5))},
		{Name: "queries clamp missing", Method: "GET", Path: "/queries?seed=7", Status: 200, ContentType: ctJSON, Check: exact(queriesJSON(7, 1))},
		{Name: "queries clamp zero", Method: "GET", Path: "/queries?n=0&seed=7", Status: 200, ContentType: ctJSON, Check: exact(queriesJSON(7, 1))},
		{Name: "queries clamp text", Method: "GET", Path: "/queries?n=foo&seed=7", Status: 200, ContentType: ctJSON, Check: exact(queriesJSON(7, 1))},
		{Name: "queries clamp high", Method: "GET", Path: "/queries?n=501&seed=7", Status: 200, ContentType: ctJSON, Check: exact(queriesJSON(7, 500))},
		{Name: "queries bad seed", Method: "GET", Path: "/queries?n=2&seed=-1", Status: 400, ContentType: ctText, Check: badRequest},
		{Name: "fortunes", Method: "GET", Path: "/fortunes", Status: 200, ContentType: ctHTML, Check: checkFortunes},
		{Name: "echo", Method: "POST", Path: "/echo", Body: echo, Status: 200, ContentType: ctOctet, Check: exact(string(echo))},
		{Name: "echo too large", Method: "POST", Path: "/echo", Body: bytes.Repeat([]byte("x"), int(app.DefaultEchoLimit)+1), Status: 413, ContentType: ctText},
		{Name: "work", Method: "GET", Path: "/work?n=1000", Status: 200, ContentType: ctText, Check: exact(hex.EncodeToString(digest[:]) + "\n")},
		{Name: "work bad n", Method: "GET", Path: "/work?n=-1", Status: 400, ContentType: ctText, Check: badRequest},
		{Name: "sleep", Method: "GET", Path: "/sleep?ms=2", Status: 200, ContentType: ctText, Check: exact("slept 2 ms\n")},
		{Name: "sleep bad", Method: "GET", Path: "/sleep?ms=x", Status: 400, ContentType: ctText, Check: badRequest},
		{Name: "bytes", Method: "GET", Path: "/bytes?n=100000", Status: 200, ContentType: ctOctet, Check: exact(string(app.AppendPayload(nil, 100000)))},
		{Name: "bytes bad", Method: "GET", Path: "/bytes?n=-5", Status: 400, ContentType: ctText, Check: badRequest},
		{Name: "not found", Method: "GET", Path: "/nope", Status: 404, ContentType: ctText},
		{Name: "method not allowed", Method: "DELETE", Path: "/plaintext", Status: 405, ContentType: ctText},
	}
}

// headersCompared are the response headers that must be identical across
// deployments. Date must be present but its value is ignored.
var headersCompared = []string{"Content-Type", "Content-Length", "Server", "Allow"}

// Response is what a deployment answered to one Case.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}
