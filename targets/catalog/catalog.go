// Package catalog knows every kind of target the suite can deploy and how
// to build one from flags: it is the one place that maps a name such as
// "cgi" to a deployment, for `bench serve` (in this process) and for
// `bench run` (as a pinned `bench serve` child process).
package catalog

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"forkbench/app"
	"forkbench/internal/gateway"
	"forkbench/targets"
	"forkbench/targets/cgi"
	"forkbench/targets/embedded"
	"forkbench/targets/external"
	"forkbench/targets/fcgi"
)

// Kinds are the deployments of the sample app, in the order reports show
// them.
var kinds = []string{"embedded", "fcgi", "cgi"}

// Kinds returns the names of the built-in deployments.
func Kinds() []string { return slices.Clone(kinds) }

// ErrUnknownKind is returned for a target name the catalog does not know.
var ErrUnknownKind = errors.New("catalog: unknown target")

// Options configure every kind of target; each kind reads the fields that
// concern it. The zero value plus AppBin and DataDir is a working default.
type Options struct {
	// Listen is the front's address; "" means a free loopback port.
	Listen string
	// AppBin is the sample app binary (cmd/sampleapp) that CGI execs and
	// the FastCGI daemon runs; "" means "sampleapp" beside this executable.
	AppBin string
	// DataDir holds the app's SQLite database, created and seeded by the
	// suite on first use; "" means the user's cache directory.
	DataDir string

	// CGIBin is the program the CGI target runs per request; "" means
	// AppBin. Users point it at their own CGI programs.
	CGIBin          string
	CGITimeout      time.Duration
	CGIMaxChildren  int
	CGIQueueTimeout time.Duration

	// FCGIAddr is the daemon's address, "unix:PATH" or "tcp:HOST:PORT";
	// "" means a unix socket in a private temporary directory.
	FCGIAddr string
	// FCGIDaemon is the daemon program; "" means AppBin. With
	// FCGIExternal, no daemon is started and FCGIAddr must name a running
	// one (a user's own FastCGI daemon).
	FCGIDaemon   string
	FCGIExternal bool
	FCGIMaxConns int
	FCGINoKeep   bool
	FCGITimeout  time.Duration
	// FCGIParams are "NAME=VALUE" FastCGI parameters sent with every
	// request (fcgi.Config.Params), e.g. PHP-FPM's SCRIPT_FILENAME.
	FCGIParams []string

	// URL is the address of an "external" target.
	URL string

	// ErrorLog receives front errors; nil means stderr.
	ErrorLog *log.Logger
}

// Register adds the options' flags to fs.
func (o *Options) Register(fs *flag.FlagSet) {
	fs.StringVar(&o.Listen, "listen", "", "front address (default a free 127.0.0.1 port)")
	fs.StringVar(&o.AppBin, "app-bin", "", "sample app binary (default: sampleapp beside bench)")
	fs.StringVar(&o.DataDir, "data", "", "directory of the app's SQLite database (default: user cache dir)")
	fs.StringVar(&o.CGIBin, "cgi-bin", "", "CGI program run per request (default: the sample app)")
	fs.DurationVar(&o.CGITimeout, "cgi-timeout", 30*time.Second, "CGI per-request timeout; the child's process group is killed after it")
	fs.IntVar(&o.CGIMaxChildren, "cgi-max-children", 0, "concurrent CGI children (default 4×CPUs)")
	fs.DurationVar(&o.CGIQueueTimeout, "cgi-queue-timeout", 0, "how long excess CGI requests wait for a slot; negative: 503 at once")
	fs.StringVar(&o.FCGIAddr, "fcgi-addr", "", "FastCGI daemon address unix:PATH or tcp:HOST:PORT (default: private unix socket)")
	fs.StringVar(&o.FCGIDaemon, "fcgi-daemon", "", "FastCGI daemon program (default: the sample app)")
	fs.BoolVar(&o.FCGIExternal, "fcgi-external", false, "connect to an already running daemon at --fcgi-addr instead of starting one")
	fs.IntVar(&o.FCGIMaxConns, "fcgi-max-conns", 0, "FastCGI connections to the daemon (default: the daemon's FCGI_MAX_CONNS; if it declares none, kept only for a multiplexing daemon); set to PHP-FPM's pm.max_children")
	fs.BoolVar(&o.FCGINoKeep, "fcgi-no-keep-conn", false, "one FastCGI connection per request (no FCGI_KEEP_CONN)")
	fs.DurationVar(&o.FCGITimeout, "fcgi-timeout", 30*time.Second, "FastCGI per-request timeout")
	fs.Func("fcgi-param", "FastCGI parameter `NAME=VALUE` sent with every request, e.g. SCRIPT_FILENAME=/srv/index.php (repeatable)", func(s string) error {
		_, _, err := fcgi.ParseParam(s)
		o.FCGIParams = append(o.FCGIParams, s)
		return err
	})
	fs.StringVar(&o.URL, "url", "", "base URL of an external target (loopback only)")
}

// Args renders the options as `bench serve` flags, so `bench run` can
// start the same deployment in a child process.
func (o *Options) Args() []string {
	var a []string
	add := func(name, v string) {
		if v != "" {
			a = append(a, "--"+name, v)
		}
	}
	add("listen", o.Listen)
	add("app-bin", o.AppBin)
	add("data", o.DataDir)
	add("cgi-bin", o.CGIBin)
	if o.CGITimeout != 0 {
		add("cgi-timeout", o.CGITimeout.String())
	}
	if o.CGIMaxChildren != 0 {
		add("cgi-max-children", fmt.Sprint(o.CGIMaxChildren))
	}
	if o.CGIQueueTimeout != 0 {
		add("cgi-queue-timeout", o.CGIQueueTimeout.String())
	}
	add("fcgi-addr", o.FCGIAddr)
	add("fcgi-daemon", o.FCGIDaemon)
	if o.FCGIExternal {
		a = append(a, "--fcgi-external")
	}
	if o.FCGIMaxConns != 0 {
		add("fcgi-max-conns", fmt.Sprint(o.FCGIMaxConns))
	}
	if o.FCGINoKeep {
		a = append(a, "--fcgi-no-keep-conn")
	}
	if o.FCGITimeout != 0 {
		add("fcgi-timeout", o.FCGITimeout.String())
	}
	for _, kv := range o.FCGIParams {
		a = append(a, "--fcgi-param", kv)
	}
	add("url", o.URL)
	return a
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
	errLog := o.ErrorLog
	if errLog == nil {
		errLog = log.New(os.Stderr, kind+": ", log.LstdFlags)
	}
	switch kind {
	case "embedded":
		return embedded.New(embedded.Config{
			Listen:   o.Listen,
			App:      app.Config{DBPath: o.DBPath()},
			ErrorLog: errLog,
		}), nil
	case "cgi":
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
				Logger:       slog.New(slog.NewTextHandler(errLog.Writer(), nil)),
			},
		}), nil
	case "fcgi":
		cfg := fcgi.Config{
			Listen:   o.Listen,
			KeepConn: !o.FCGINoKeep,
			MaxConns: o.FCGIMaxConns,
			Timeout:  o.FCGITimeout,
			Params:   o.FCGIParams,
			ErrorLog: errLog,
			Gateway:  gateway.Config{},
		}
		network, addr, err := parseAddr(o.FCGIAddr)
		if err != nil {
			return nil, err
		}
		cfg.Daemon.Network, cfg.Daemon.Address = network, addr
		if !o.FCGIExternal {
			bin := o.FCGIDaemon
			if bin == "" {
				bin = o.AppBin
			}
			cfg.Daemon.Path = bin
			cfg.Daemon.Env = o.AppEnv()
			if bin == o.AppBin {
				cfg.Daemon.Args = []string{"-fcgi", fcgi.AddrPlaceholder}
			}
		} else if o.FCGIAddr == "" {
			return nil, fmt.Errorf("catalog: --fcgi-external needs --fcgi-addr")
		}
		return fcgi.New(cfg), nil
	case "external":
		if o.URL == "" {
			return nil, fmt.Errorf("catalog: target external needs --url")
		}
		return external.New("external", o.URL)
	}
	return nil, fmt.Errorf("%w %q (known: %s, external)", ErrUnknownKind, kind, strings.Join(kinds, ", "))
}

// parseAddr splits "unix:PATH" / "tcp:HOST:PORT" / "HOST:PORT"; "" is a
// unix socket the fcgi target places itself.
func parseAddr(s string) (network, addr string, err error) {
	switch {
	case s == "":
		return "unix", "", nil
	case strings.HasPrefix(s, "unix:"):
		return "unix", strings.TrimPrefix(s, "unix:"), nil
	case strings.HasPrefix(s, "tcp:"):
		return "tcp", strings.TrimPrefix(s, "tcp:"), nil
	case strings.Contains(s, ":"):
		return "tcp", s, nil
	}
	return "", "", fmt.Errorf("catalog: bad FastCGI address %q: want unix:PATH or tcp:HOST:PORT", s)
}
