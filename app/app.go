// Package app is the sample application forkbench deploys three ways: in the
// front's own process, as a CGI program (a new process per request) and as a
// FastCGI daemon. It is a TechEmpower-style handler set (plaintext, json, db,
// queries, fortunes) plus a few knobs for shaping load (echo, work, sleep,
// bytes) backed by a read-only SQLite database that [Seed] creates.
//
// The package imports nothing of the suite, only the standard library and the
// SQLite driver, so that what a CGI child pays per request is the
// application's own start-up ([New]) and nothing else. Every response is
// byte-identical whichever way the handler is deployed, apart from the value
// of the Date header: the handler sets Server, Date, Content-Type and
// Content-Length itself rather than leaving them to a server that differs
// between deployments.
//
// Limits: the database is opened read-only and never written after [Seed];
// the /bytes, /echo, /work and /sleep bounds are configurable but always
// enforced (an over-limit request is refused, never silently trimmed).
package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// ServerName is the value of the Server header on every response, so a
// client can tell the sample app's answers from its front's own.
const ServerName = "forkbench"

// HelloWorld is the body of /plaintext and the message of /json.
const HelloWorld = "Hello, World!"

// Defaults used when the matching Config field is zero.
const (
	DefaultEchoLimit = 1 << 20   // 1 MiB
	DefaultMaxBytes  = 16 << 20  // 16 MiB
	DefaultMaxWork   = 1_000_000 // SHA-256 rounds
	DefaultMaxSleep  = 10 * time.Second
)

// MaxQueries is the TechEmpower cap on /queries?n.
const MaxQueries = 500

// ErrNoDBPath is returned by New when Config.DBPath is empty.
var ErrNoDBPath = errors.New("app: Config.DBPath is empty")

// Config configures an App. The zero value of every field but DBPath selects
// a documented default.
type Config struct {
	// DBPath is the SQLite file made by Seed. Required.
	DBPath string
	// EchoLimit is the largest POST /echo body accepted; larger ones get
	// 413. Zero means DefaultEchoLimit.
	EchoLimit int64
	// MaxBytes is the largest /bytes?n served; larger ones get 400. Zero
	// means DefaultMaxBytes.
	MaxBytes int64
	// MaxWork is the largest /work?n served; larger ones get 400. Zero means
	// DefaultMaxWork.
	MaxWork int
	// MaxSleep is the longest /sleep?ms served; longer ones get 400. Zero
	// means DefaultMaxSleep.
	MaxSleep time.Duration
	// MaxConns bounds the SQLite connection pool. Zero means
	// runtime.GOMAXPROCS(0), at least 2: enough for the in-process
	// deployment under load, and a CGI child only ever opens one.
	MaxConns int
	// Now is the clock behind the Date header. Nil means time.Now.
	Now func() time.Time
	// Logf reports internal errors (a failed query); client errors are not
	// logged. Nil discards.
	Logf func(format string, args ...any)
}

// App is the sample application: an http.Handler over a read-only database.
// It is safe for concurrent use. Close it to release the database.
type App struct {
	cfg Config

	db        *sql.DB
	worldStmt *sql.Stmt // SELECT randomNumber FROM world WHERE id = ?
	fortStmt  *sql.Stmt // SELECT id, message FROM fortune
	fortunes  *template.Template

	payload []byte // one period-aligned chunk of the /bytes pattern
	hdr     headerValues

	plainResp, jsonResp staticResponse
	routes              map[string]route

	date atomic.Pointer[dateCache]
	bufs sync.Pool // *[]byte response buffers
}

// New starts the application: it opens the database read-only, prepares the
// statements, parses the fortunes template and builds the /bytes payload.
// This is the start-up a CGI child pays on every request, so it does the real
// work (an unreachable or malformed database fails here, not on the first
// request) and nothing more.
func New(cfg Config) (*App, error) {
	if cfg.DBPath == "" {
		return nil, ErrNoDBPath
	}
	if cfg.EchoLimit == 0 {
		cfg.EchoLimit = DefaultEchoLimit
	}
	if cfg.MaxBytes == 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxWork == 0 {
		cfg.MaxWork = DefaultMaxWork
	}
	if cfg.MaxSleep == 0 {
		cfg.MaxSleep = DefaultMaxSleep
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = max(2, runtime.GOMAXPROCS(0))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if cfg.EchoLimit < 0 || cfg.MaxBytes < 0 || cfg.MaxWork < 0 || cfg.MaxSleep < 0 || cfg.MaxConns < 0 {
		return nil, fmt.Errorf("app: negative limit in Config")
	}

	dsn, err := readOnlyDSN(cfg.DBPath)
	if err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("app: open %s: %w", cfg.DBPath, err)
	}
	db.SetMaxOpenConns(cfg.MaxConns)
	db.SetMaxIdleConns(cfg.MaxConns)

	a := &App{cfg: cfg, db: db, hdr: newHeaderValues()}
	ctx := context.Background()
	if a.worldStmt, err = db.PrepareContext(ctx, "SELECT randomNumber FROM world WHERE id = ?"); err != nil {
		db.Close()
		return nil, fmt.Errorf("app: open %s: %w", cfg.DBPath, err)
	}
	if a.fortStmt, err = db.PrepareContext(ctx, "SELECT id, message FROM fortune"); err != nil {
		a.Close()
		return nil, fmt.Errorf("app: open %s: %w", cfg.DBPath, err)
	}
	if a.fortunes, err = template.New("fortunes").Parse(FortunesTemplate); err != nil {
		a.Close()
		return nil, fmt.Errorf("app: fortunes template: %w", err)
	}
	a.payload = AppendPayload(make([]byte, 0, payloadChunk), payloadChunk)
	a.plainResp = newStatic(a.hdr.plain, HelloWorld)
	a.jsonResp = newStatic(a.hdr.json, JSONBody)
	a.routes = a.newRoutes()
	return a, nil
}

// readOnlyDSN turns a file path into a SQLite URI that opens it read-only,
// so that any number of CGI children can read it at once and a missing file
// is an error rather than a new empty database.
//
// locking_mode(exclusive) on a read-only connection takes the shared lock on
// the first read and keeps it, instead of taking and dropping it (and
// probing for a hot journal) around every statement: about five times less
// work per /db query, all of it syscalls. Readers still share the file;
// what it excludes is an in-place writer, and nothing writes in place: Seed
// replaces the file by rename, which an open App does not see.
func readOnlyDSN(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("app: %w", err)
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "mode=ro&_pragma=locking_mode(exclusive)"}
	return u.String(), nil
}

// Close releases the prepared statements and the database.
func (a *App) Close() error {
	var errs []error
	for _, s := range []*sql.Stmt{a.worldStmt, a.fortStmt} {
		if s != nil {
			errs = append(errs, s.Close())
		}
	}
	errs = append(errs, a.db.Close())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("app: close: %w", err)
	}
	return nil
}

// route is one endpoint: the methods it answers and its handler.
type route struct {
	allow   string // the Allow header of a 405
	get     bool   // answers GET and HEAD
	post    bool   // answers POST
	handler func(http.ResponseWriter, *http.Request)
}

func (a *App) newRoutes() map[string]route {
	get := func(h func(http.ResponseWriter, *http.Request)) route {
		return route{allow: "GET, HEAD", get: true, handler: h}
	}
	return map[string]route{
		"/plaintext": get(a.plaintext),
		"/json":      get(a.json),
		"/db":        get(a.dbOne),
		"/queries":   get(a.queries),
		"/fortunes":  get(a.fortunesPage),
		"/echo":      {allow: "POST", post: true, handler: a.echo},
		"/work":      get(a.work),
		"/sleep":     get(a.sleep),
		"/bytes":     get(a.bytes),
	}
}

// ServeHTTP routes by exact path: an unknown path gets 404, a known one with
// the wrong method 405 with an Allow header. HEAD is answered wherever GET
// is, with the same headers and no body.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rt, ok := a.routes[r.URL.Path]
	if !ok {
		a.writeText(w, r, http.StatusNotFound, "not found\n")
		return
	}
	switch {
	case rt.get && (r.Method == http.MethodGet || r.Method == http.MethodHead),
		rt.post && r.Method == http.MethodPost:
		rt.handler(w, r)
	default:
		w.Header()["Allow"] = []string{rt.allow}
		a.writeText(w, r, http.StatusMethodNotAllowed, "method not allowed\n")
	}
}
