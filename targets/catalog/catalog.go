// Package catalog knows every kind of target the suite can deploy and how
// to build one from typed options (results.TargetOptions): it is the one
// place that maps a name such as "cgi" to a deployment, for `bench serve`
// (in this process) and for `bench run` (as a pinned `bench serve` child
// process, handed the same options as data).
package catalog

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"forkbench/app"
	"forkbench/internal/fcgiaddr"
	"forkbench/internal/gateway"
	"forkbench/results"
	"forkbench/targets"
	"forkbench/targets/cgi"
	"forkbench/targets/embedded"
	"forkbench/targets/external"
	"forkbench/targets/fcgi"
	"forkbench/targets/fronts"
)

// Kind is one kind of target the catalog can build: a name, what it is,
// and how to build one from options. A new kind (a real front, a user's
// program) is one entry in kinds and one constructor; its options are
// fields of results.TargetOptions, so they are recorded with the results
// and judged by results.Comparable.
type Kind struct {
	Name    string
	Summary string
	// SampleApp is true for the built-in deployments of the sample app,
	// which `bench verify` and `bench run` use by default.
	SampleApp bool
	New       func(o Options, errLog *log.Logger) (targets.Target, error)
}

// kinds lists every kind, in the order reports show them: the baseline
// first, then from cheapest to dearest.
func kinds() []Kind {
	out := []Kind{
		{"embedded", "the app handler inside the front's own process (the baseline)", true, newEmbedded},
		{"fcgi", "a persistent FastCGI daemon behind our front", true, newFCGI},
		{"cgi", "a new process per request behind our RFC 3875 host", true, newCGI},
		{"external", "a loopback URL the suite does not start (--url)", false, newExternal},
	}
	for _, name := range fronts.Names() {
		d, _ := fronts.Describe(name)
		out = append(out, Kind{name, d.Summary, false, newFront(name)})
	}
	return out
}

// Lookup returns the kind named name.
func Lookup(name string) (Kind, error) {
	var names []string
	for _, k := range kinds() {
		if k.Name == name {
			return k, nil
		}
		names = append(names, k.Name)
	}
	return Kind{}, fmt.Errorf("%w %q (known: %s)", ErrUnknownKind, name, strings.Join(names, ", "))
}

// All returns every kind.
func All() []Kind { return kinds() }

// Kinds returns the names of the built-in deployments of the sample app.
func Kinds() []string {
	var out []string
	for _, k := range kinds() {
		if k.SampleApp {
			out = append(out, k.Name)
		}
	}
	return out
}

// ErrUnknownKind is returned for a target name the catalog does not know.
var ErrUnknownKind = errors.New("catalog: unknown target")

// Options configure every kind of target; each kind reads the fields that
// concern it. The zero value plus AppBin and DataDir is a working default.
type Options struct {
	results.TargetOptions
	// AllowRemote accepts an external URL that is not on loopback
	// (`bench run --allow-remote`); it is not a `bench serve` option.
	AllowRemote bool
	// ErrorLog receives front errors; nil means stderr.
	ErrorLog *log.Logger
	// LogDir keeps a real front's server logs (targets/fronts
	// Config.LogDir; `bench serve --log-dir`); the Go trio has none.
	LogDir string
}

// Resolve fills in defaults that depend on the machine (binary and data
// paths) and seeds the database if it does not exist yet, so every
// deployment reads the same file.
func (o *Options) Resolve(ctx context.Context) error {
	if o.AppBin == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("catalog: %w", err)
		}
		o.AppBin = filepath.Join(filepath.Dir(exe), "sampleapp")
	}
	abs, err := filepath.Abs(o.AppBin)
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	o.AppBin = abs
	if _, err := os.Stat(o.AppBin); err != nil {
		return fmt.Errorf("catalog: sample app binary %s not found (run `make build` or pass --app-bin): %w", o.AppBin, err)
	}
	if o.DataDir == "" {
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		o.DataDir = filepath.Join(dir, "forkbench")
	}
	if o.DataDir, err = filepath.Abs(o.DataDir); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	if err := os.MkdirAll(o.DataDir, 0o755); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	if err := app.Seed(ctx, o.DBPath()); err != nil {
		return fmt.Errorf("catalog: seed database: %w", err)
	}
	return nil
}

// DBPath is the SQLite file every deployment of the app reads.
func (o *Options) DBPath() string { return filepath.Join(o.DataDir, "world.db") }

// AppEnv is the environment the app needs in a child process (CGI children
// start from an empty environment).
func (o *Options) AppEnv() []string { return []string{"FORKBENCH_DB=" + o.DBPath()} }

// New builds an unstarted target of the given kind. Options must have been
// resolved (except for "external").
func New(kind string, o Options) (targets.Target, error) {
	k, err := Lookup(kind)
	if err != nil {
		return nil, err
	}
	errLog := o.ErrorLog
	if errLog == nil {
		errLog = log.New(os.Stderr, kind+": ", log.LstdFlags)
	}
	return k.New(o, errLog)
}

func newEmbedded(o Options, errLog *log.Logger) (targets.Target, error) {
	return embedded.New(embedded.Config{
		Listen:   o.Listen,
		App:      app.Config{DBPath: o.DBPath()},
		ErrorLog: errLog,
	}), nil
}

func newCGI(o Options, errLog *log.Logger) (targets.Target, error) {
	bin := o.CGIBin
	if bin == "" {
		bin = o.AppBin
	}
	return cgi.New(cgi.Config{
		Listen:   o.Listen,
		ErrorLog: errLog,
		Host: &cgi.Host{
			Path:         bin,
			Env:          o.AppEnv(),
			Timeout:      o.CGITimeout,
			MaxChildren:  o.CGIMaxChildren,
			QueueTimeout: o.CGIQueueTimeout,
			Gateway:      gateway.Config{PassAuth: o.PassAuth},
			Logger:       slog.New(slog.NewTextHandler(errLog.Writer(), nil)),
		},
	}), nil
}

func newFCGI(o Options, errLog *log.Logger) (targets.Target, error) {
	cfg := fcgi.Config{
		Listen:   o.Listen,
		KeepConn: !o.FCGINoKeepConn,
		MaxConns: o.FCGIMaxConns,
		Timeout:  o.FCGITimeout,
		ErrorLog: errLog,
		Gateway:  gateway.Config{PassAuth: o.PassAuth},
		Params:   o.FCGIParams,
	}
	network, addr, err := parseAddr(o.FCGIAddr)
	if err != nil {
		return nil, err
	}
	cfg.Daemon.Network, cfg.Daemon.Address = network, addr
	if o.FCGIExternal {
		if o.FCGIAddr == "" {
			return nil, fmt.Errorf("catalog: --fcgi-external needs --fcgi-addr")
		}
		return fcgi.New(cfg), nil
	}
	bin := o.FCGIDaemon
	if bin == "" {
		bin = o.AppBin
	}
	cfg.Daemon.Path = bin
	cfg.Daemon.Env = o.AppEnv()
	switch {
	case o.FCGIArgs != nil:
		cfg.Daemon.Args = o.FCGIArgs
	case bin == o.AppBin:
		cfg.Daemon.Args = []string{"-fcgi", fcgi.AddrPlaceholder}
	}
	return fcgi.New(cfg), nil
}

func newExternal(o Options, _ *log.Logger) (targets.Target, error) {
	if o.URL == "" {
		return nil, fmt.Errorf("catalog: target external needs --url")
	}
	if o.AllowRemote {
		return external.NewAllowRemote("external", o.URL)
	}
	return external.New("external", o.URL)
}

// parseAddr splits "unix:PATH" / "tcp:HOST:PORT" / "HOST:PORT" (see
// fcgiaddr); "" is a unix socket the fcgi target places itself.
func parseAddr(s string) (network, addr string, err error) {
	if s == "" {
		return "unix", "", nil
	}
	if network, addr, err = fcgiaddr.Parse(s); err != nil {
		return "", "", fmt.Errorf("catalog: bad FastCGI address: %w", err)
	}
	return network, addr, nil
}
