package fcgi

// This file wires the FastCGI deployment once: the daemon under its
// supervisor, the connection pool, the client and the proxy in front of
// it. Target puts its HTTP listener before the proxy; callers that drive
// the proxy in-process (the spawncost package times single requests with
// no listener in the way) use Deploy.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"forkbench/internal/fcgiaddr"
)

// Deployment is a started FastCGI deployment without its HTTP listener.
type Deployment struct {
	// Daemon is the supervisor of the daemon Deploy started; nil for an
	// external one (Config.Daemon.Path "").
	Daemon *Daemon
	// Pool holds the connections to the daemon.
	Pool *Pool
	// Handler is the front's handler: a Proxy over Pool.
	Handler http.Handler
	// Network and Address are where the daemon listens.
	Network, Address string

	plan poolPlan // how the pool was sized, and why
	dir  string   // private socket directory, removed by Close
}

// Deploy starts cfg.Daemon (unless its Path is "": a daemon already
// listening at its Network and Address) and returns once it accepts, with
// the pool, client and proxy wired to it as Target wires them;
// cfg.Listen is not used. Close stops it.
func Deploy(ctx context.Context, cfg Config) (*Deployment, error) {
	d, err := deploy(ctx, cfg, nil)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// deploy is Deploy with hook, if not nil, run on the daemon before it
// starts (Target's tests use it). On error the deployment it returns is
// closed already; its fields say what was attempted.
func deploy(ctx context.Context, cfg Config, hook func(*Daemon)) (*Deployment, error) {
	d := &Deployment{}
	if err := d.start(ctx, cfg, hook); err != nil {
		return d, errors.Join(err, d.Close(context.Background()))
	}
	return d, nil
}

func (d *Deployment) start(ctx context.Context, cfg Config, hook func(*Daemon)) error {
	for _, kv := range cfg.Params {
		if _, _, err := ParseParam(kv); err != nil {
			return err
		}
	}
	dc := cfg.Daemon
	if err := d.resolve(dc); err != nil {
		return err
	}
	if dc.Path != "" {
		addr := fcgiaddr.Format(d.Network, d.Address)
		d.Daemon = &Daemon{
			Path:       dc.Path,
			Args:       substitute(dc.Args, addr),
			Env:        substitute(dc.Env, addr),
			Network:    d.Network,
			Address:    d.Address,
			Output:     dc.Output,
			MinBackoff: dc.MinBackoff,
			MaxBackoff: dc.MaxBackoff,
			ErrorLog:   cfg.ErrorLog,
		}
		if hook != nil {
			hook(d.Daemon)
		}
		if err := d.Daemon.Start(ctx); err != nil {
			return err
		}
	}
	d.Pool = &Pool{Network: d.Network, Address: d.Address, QueueTimeout: cfg.QueueTimeout, ErrorLog: cfg.ErrorLog}
	d.sizePool(ctx, cfg)
	client := &Client{
		Pool:            d.Pool,
		DisableKeepConn: !d.plan.keep,
		Timeout:         cfg.Timeout,
		ErrorLog:        cfg.ErrorLog,
	}
	d.Handler = &Proxy{Client: client, Gateway: cfg.Gateway, Params: cfg.Params, ErrorLog: cfg.ErrorLog}
	return nil
}

// sizePool asks the daemon what it can take and sizes the pool from the
// answer (see planPool), logging the decision so that a report can explain
// the figures.
func (d *Deployment) sizePool(ctx context.Context, cfg Config) {
	var (
		vals map[string]string
		err  error
	)
	if cfg.MaxConns <= 0 {
		pctx, cancel := context.WithTimeout(ctx, valuesTimeout)
		vals, err = d.Pool.GetValues(pctx, ValueMaxConns, ValueMaxReqs, ValueMpxsConns)
		cancel()
	}
	d.plan = planPool(cfg, vals, err)
	d.Pool.MaxOpen = d.plan.maxOpen
	d.Pool.MaxIdle = min(DefaultMaxIdle, d.plan.maxOpen)
	keep := "kept"
	if !d.plan.keep {
		keep = "one per request"
	}
	msg := fmt.Sprintf("fcgi: connections to the daemon: at most %d, %s: %s", d.plan.maxOpen, keep, d.plan.why)
	if cfg.ErrorLog != nil {
		cfg.ErrorLog.Print(msg)
	} else {
		log.Print(msg)
	}
}

// resolve sets where the daemon listens: dc's Network and Address, or a
// unix socket in a private temporary directory when dc starts a daemon
// and names no address.
func (d *Deployment) resolve(dc DaemonConfig) error {
	d.Network, d.Address = dc.Network, dc.Address
	if d.Network == "" {
		d.Network = "unix"
	}
	if d.Network != "unix" && d.Network != "tcp" {
		return fmt.Errorf("fcgi: network %q: want unix or tcp", d.Network)
	}
	if d.Address != "" {
		return nil
	}
	if dc.Path == "" {
		return errors.New("fcgi: an external daemon needs Daemon.Address")
	}
	if d.Network != "unix" {
		return errors.New("fcgi: a tcp daemon needs Daemon.Address")
	}
	dir, err := os.MkdirTemp("", "forkbench-fcgi-")
	if err != nil {
		return fmt.Errorf("fcgi: socket directory: %w", err)
	}
	d.dir = dir
	d.Address = filepath.Join(dir, "fcgi.sock")
	return nil
}

// Close closes the pool, stops the daemon (SIGTERM, then SIGKILL when ctx
// ends) and removes the private socket directory.
func (d *Deployment) Close(ctx context.Context) error {
	var err error
	if d.Pool != nil {
		err = d.Pool.Close()
	}
	if d.Daemon != nil {
		err = errors.Join(err, d.Daemon.Stop(ctx))
	}
	if d.dir != "" {
		err = errors.Join(err, os.RemoveAll(d.dir))
	}
	return err
}

// substitute returns ss with AddrPlaceholder replaced by addr.
func substitute(ss []string, addr string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.ReplaceAll(s, AddrPlaceholder, addr)
	}
	return out
}
