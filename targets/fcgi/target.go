// Package fcgi deploys an application as a persistent FastCGI daemon behind
// the suite's Go net/http front, and holds the FastCGI client that front
// uses (Go's standard library has only the application side).
//
// The front (Proxy) turns each HTTP request into CGI meta-variables
// (internal/gateway), sends them with the body over a pooled connection
// (Client, Pool) to the daemon, and streams the CGI response it writes on
// FCGI_STDOUT back to the client. Daemon starts the daemon and restarts it
// when it dies; Target wires the three together as a targets.Target.
//
// Limits: one request per connection at a time (no multiplexing); the
// responder role only; FastCGI local redirects are relayed as redirects to
// the client (see gateway). The daemon side, Go's net/http/fcgi, keeps
// fewer promises than the front: on FCGI_ABORT_REQUEST it only fails the
// request body's reads (the handler's context is never cancelled, so an
// aborted handler runs to completion), and it does not recover a handler's
// panic, which kills the whole daemon unless the handler is wrapped (the
// sample app's is: a panic gives 500 and the daemon serves on).
package fcgi

// This file is the deployment as a targets.Target: the daemon, pool,
// client and proxy (wired in deploy.go) behind an HTTP front.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"sync"
	"time"

	"forkbench/internal/gateway"
	"forkbench/targets"
)

// AddrPlaceholder, in DaemonConfig.Args or Env, is replaced by the
// daemon's address as "unix:PATH" or "tcp:HOST:PORT", so that a socket the
// target places itself can be handed to the daemon
// (e.g. Args: {"-fcgi", AddrPlaceholder}).
const AddrPlaceholder = "@ADDR@"

// DaemonConfig says which daemon to run and where it listens.
type DaemonConfig struct {
	// Path is the daemon executable. "" starts nothing: the target
	// connects to a daemon already listening at Network and Address (a
	// user's own FastCGI application).
	Path string
	// Args are the daemon's arguments (without the program name) and Env
	// its environment (nil means the front's own); AddrPlaceholder in
	// either is replaced by the address.
	Args []string
	Env  []string
	// Network is "unix" (the default when "") or "tcp". Address is the
	// socket path or HOST:PORT; "" with unix means a socket in a private
	// temporary directory, removed by Stop.
	Network, Address string
	// MinBackoff and MaxBackoff bound the restart delay (see Daemon).
	MinBackoff, MaxBackoff time.Duration
	// Output receives the daemon's stdout and stderr; nil means os.Stderr.
	Output io.Writer
}

// Config configures the FastCGI deployment.
type Config struct {
	// Listen is the front's TCP address; "" means a free loopback port.
	Listen string
	// Daemon is the FastCGI application.
	Daemon DaemonConfig
	// KeepConn sets FCGI_KEEP_CONN and pools connections, as production
	// fronts (nginx fastcgi_keep_conn, Apache mod_proxy_fcgi) can, where
	// that is safe for the daemon (see MaxConns). False, the zero value,
	// opens a connection per request as a plain FastCGI front does; set
	// it explicitly to measure the pooled deployment.
	KeepConn bool
	// MaxConns bounds the connections to the daemon. 0 means: ask the
	// daemon (FCGI_GET_VALUES) and use its FCGI_MAX_CONNS; if it declares
	// none, up to DefaultMaxOpen, kept only if it multiplexes
	// (FCGI_MPXS_CONNS=1), since a daemon with one worker per connection
	// (PHP-FPM) would be starved by idle kept connections. Set it to the
	// daemon's worker count (PHP-FPM's pm.max_children) to keep that
	// many. Requests beyond it wait up to QueueTimeout, then get 503.
	MaxConns int
	// QueueTimeout bounds the wait for a free connection (see
	// Pool.QueueTimeout); 0 means DefaultQueueTimeout.
	QueueTimeout time.Duration
	// Timeout bounds each request to the daemon, the wait for a
	// connection and relaying the reply included; 0 means no bound other
	// than the client's. A request that runs out of time is answered 504.
	Timeout time.Duration
	// Params are "NAME=VALUE" FastCGI parameters sent with every request,
	// replacing any meta-variable of the same name: e.g.
	// SCRIPT_FILENAME=/srv/www/index.php and DOCUMENT_ROOT=/srv/www,
	// without which PHP-FPM answers 404 "Primary script unknown". Start
	// rejects malformed ones (see ParseParam).
	Params []string
	// Gateway is how the application is mounted (SCRIPT_NAME and extra
	// parameters).
	Gateway gateway.Config
	// ErrorLog receives the front's, the client's and the supervisor's
	// errors; nil means the log package's standard logger.
	ErrorLog *log.Logger
}

// Target is the FastCGI deployment: the front in this process, the daemon
// in its own.
type Target struct {
	cfg    Config
	dep    *Deployment // daemon, pool and proxy; nil before Start
	dir    string      // its private socket directory, removed by its Close
	daemon *Daemon
	pool   *Pool
	plan   poolPlan
	front  targets.Front

	stopOnce sync.Once
	stopErr  error

	testHookDaemon func(*Daemon) // runs before the daemon starts
}

var _ targets.Target = (*Target)(nil)

// New returns an unstarted FastCGI deployment.
func New(cfg Config) *Target { return &Target{cfg: cfg} }

// Name reports "fcgi".
func (t *Target) Name() string { return "fcgi" }

// Start starts the daemon (unless Daemon.Path is empty), waits until it
// accepts connections, and starts the front.
func (t *Target) Start(ctx context.Context) error {
	if err := t.start(ctx); err != nil {
		_ = t.Stop(context.Background())
		return err
	}
	return nil
}

func (t *Target) start(ctx context.Context) error {
	dep, err := deploy(ctx, t.cfg, t.testHookDaemon)
	t.dir = dep.dir
	if err != nil {
		return err
	}
	t.dep, t.daemon, t.pool, t.plan = dep, dep.Daemon, dep.Pool, dep.plan
	t.front = targets.Front{
		Listen:   t.cfg.Listen,
		Handler:  dep.Handler,
		ErrorLog: t.cfg.ErrorLog,
	}
	if err := t.front.Start(); err != nil {
		return fmt.Errorf("fcgi: %w", err)
	}
	return nil
}

// URL is the front's base URL.
func (t *Target) URL() string { return t.front.URL() }

// PIDs is this process (the front and FastCGI client) and the daemon while
// it is up; the daemon's pid changes when it is restarted.
func (t *Target) PIDs() []int {
	pids := []int{os.Getpid()}
	if t.daemon != nil {
		if pid := t.daemon.PID(); pid != 0 {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Daemon is the supervisor of the daemon the target started, nil for an
// external daemon or before Start; it reports the pid and restarts.
func (t *Target) Daemon() *Daemon { return t.daemon }

// PoolStats reports the connection pool's counters, zero before Start.
func (t *Target) PoolStats() PoolStats {
	if t.pool == nil {
		return PoolStats{}
	}
	return t.pool.Stats()
}

// KeepConn reports whether the target keeps connections to the daemon,
// as decided at Start from Config and the daemon's answer (see MaxConns),
// and MaxConns the bound it chose.
func (t *Target) KeepConn() bool { return t.plan.keep }

// MaxConns reports the bound on connections to the daemon chosen at Start.
func (t *Target) MaxConns() int { return t.plan.maxOpen }

// Stop stops the front, then the daemon, and removes the socket.
func (t *Target) Stop(ctx context.Context) error {
	t.stopOnce.Do(func() { t.stopErr = t.stop(ctx) })
	return t.stopErr
}

func (t *Target) stop(ctx context.Context) error {
	err := t.front.Stop(ctx)
	if t.pool != nil {
		if s := t.pool.Stats(); s.Waits > 0 || s.IdleFull > 0 {
			t.logf("fcgi: connection pool bounds were hit: %d requests waited for one of MaxConns=%d connections (%d gave up: 503), %d connections closed beyond MaxIdle",
				s.Waits, t.pool.maxOpen(), s.Exhausted, s.IdleFull)
		}
	}
	if t.dep != nil {
		err = errors.Join(err, t.dep.Close(ctx))
	}
	return err
}

func (t *Target) logf(format string, args ...any) {
	if t.cfg.ErrorLog != nil {
		t.cfg.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}
