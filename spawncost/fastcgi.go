package spawncost

// This file measures requests through the FastCGI deployment, which
// targets/fcgi wires (fcgi.Deploy): the same daemon, pool, client and
// proxy `bench run` measures, driven in-process with no listener in the
// way.

import (
	"context"
	"fmt"
	"log"

	"forkbench/internal/procstat"
	"forkbench/results"
	"forkbench/targets/fcgi"
)

// daemonArgs are the sample app's arguments as the FastCGI daemon
// listening at addr.
func (m *measurer) daemonArgs(addr string) []string {
	return []string{"-fcgi", addr, "-db", m.db}
}

// fcgiConfig is how every FastCGI row deploys the app: the sample app as
// the daemon on a private unix socket, a clean environment, connections
// kept open between requests (FCGI_KEEP_CONN) as production fronts can.
func (m *measurer) fcgiConfig() fcgi.Config {
	return fcgi.Config{
		Daemon:   fcgi.DaemonConfig{Path: m.cfg.AppBin, Args: m.daemonArgs(fcgi.AddrPlaceholder), Env: childEnv(), Output: m.cfg.Log},
		KeepConn: true,
		ErrorLog: log.New(m.cfg.Log, "", 0),
	}
}

// startFCGI deploys the FastCGI daemon for the rows that use it.
func (m *measurer) startFCGI(ctx context.Context) error {
	dep, err := fcgi.Deploy(ctx, m.fcgiConfig())
	if err != nil {
		return fmt.Errorf("spawncost: %w", err)
	}
	m.fcgi = dep
	return nil
}

// stopFCGI stops the daemon once the steps that use it are done.
func (m *measurer) stopFCGI(ctx context.Context) error {
	if m.fcgi == nil {
		return nil
	}
	err := m.fcgi.Close(ctx)
	m.fcgi = nil
	if err != nil {
		return fmt.Errorf("spawncost: %w", err)
	}
	return nil
}

// fcgiRow measures requests through the FastCGI daemon as the row tmpl,
// its CPU the daemon's mean per request over the batch (from /proc, in
// clock ticks: per-request figures would be below its resolution), adds
// it and returns it.
func (m *measurer) fcgiRow(ctx context.Context, tmpl results.ForkRow, p plan, path string, want []byte) (results.ForkRow, error) {
	pid := m.fcgi.Daemon.PID()
	u0, err := procstat.Tree([]int{pid})
	if err != nil {
		return tmpl, fmt.Errorf("spawncost: %w", err)
	}
	ss, cut, err := collect(ctx, p, requestFn("fcgi", m.fcgi.Handler, path, want, nil))
	if err != nil {
		return tmpl, err
	}
	u1, err := procstat.Tree([]int{pid})
	if err != nil {
		return tmpl, fmt.Errorf("spawncost: %w", err)
	}
	if m.fcgi.Daemon.PID() != pid {
		return tmpl, fmt.Errorf("spawncost: the FastCGI daemon restarted during %s/%s", tmpl.Group, tmpl.Name)
	}
	n := float64(len(ss) + p.warmup)
	r := forkRow(tmpl, ss)
	r.User = point(float64(u1.UserNs-u0.UserNs) / n)
	r.Sys = point(float64(u1.SysNs-u0.SysNs) / n)
	c := point(float64(u1.OnCPUNs-u0.OnCPUNs) / n)
	r.CPU = &c
	r.Params[results.ForkParamCPU] = "daemon mean per request over the batch (CPU from its threads in nanoseconds; user and sys in /proc clock ticks)"
	m.add(r, cut, p.reps)
	return r, nil
}
