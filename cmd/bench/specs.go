package main

// This file turns `--targets` specs (targets.ParseSpecs) into deployments:
// a built-in name stays a catalog kind with the run's options; a user's
// program (cgi:, fcgi-cmd:, fcgi-addr:, url:) becomes a catalog kind with
// options of its own, measured and recorded under the spec's label.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"

	"forkbench/internal/fcgiaddr"
	"forkbench/results"
	"forkbench/targets"
	"forkbench/targets/catalog"
	"forkbench/targets/external"
	"forkbench/targets/fcgi"
)

// userTarget is a spec naming a user's program: the catalog kind it is
// deployed as and the options it is started with.
type userTarget struct {
	spec targets.Spec
	kind string
	opts catalog.Options
}

// known reports whether name is a built-in deployment.
func known(name string) bool {
	_, err := catalog.Lookup(name)
	return err == nil
}

// userTargets builds the user's targets among specs over the base
// options, checking each (a missing program, a bad address or URL) before
// anything is started or written.
func userTargets(specs []targets.Spec, base catalog.Options) (map[string]userTarget, error) {
	out := map[string]userTarget{}
	for _, s := range specs {
		if s.Kind == targets.SpecNamed {
			continue
		}
		kind, o, err := specOptions(s, base)
		if err != nil {
			return nil, fmt.Errorf("run: --targets %s: %w", s.Text, err)
		}
		u := userTarget{spec: s, kind: kind, opts: o}
		if _, err := u.build(); err != nil {
			return nil, fmt.Errorf("run: --targets %s: %w", s.Text, err)
		}
		out[s.Label] = u
	}
	return out, nil
}

// specOptions returns the catalog kind a user's spec is deployed as and
// its options: base with the spec's program, daemon or address set.
func specOptions(s targets.Spec, base catalog.Options) (string, catalog.Options, error) {
	o := base
	switch s.Kind {
	case targets.SpecCGI:
		abs, err := filepath.Abs(s.Path)
		if err != nil {
			return "", o, err
		}
		if st, err := os.Stat(abs); err != nil {
			return "", o, err
		} else if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", o, fmt.Errorf("%s is not an executable file", abs)
		}
		o.CGIBin = abs
		return "cgi", o, nil
	case targets.SpecFCGICommand:
		if err := loopbackAddr(s.Addr); s.Addr != "" && err != nil {
			return "", o, err
		}
		if _, err := exec.LookPath(s.Argv[0]); err != nil {
			return "", o, err
		}
		o.FCGIDaemon, o.FCGIAddr, o.FCGIExternal = s.Argv[0], s.Addr, false
		o.FCGIArgs = append([]string{}, s.Argv[1:]...)
		if s.Addr == "" {
			// No address given: the daemon is handed a private socket
			// as its last argument.
			o.FCGIArgs = append(o.FCGIArgs, fcgi.AddrPlaceholder)
		}
		return "fcgi", o, nil
	case targets.SpecFCGIAddr:
		if err := loopbackAddr(s.Addr); err != nil {
			return "", o, err
		}
		o.FCGIAddr, o.FCGIExternal = s.Addr, true
		return "fcgi", o, nil
	case targets.SpecURL:
		o.URL = s.URL
		return "external", o, nil
	}
	return "", o, fmt.Errorf("no deployment for a %s spec", s.Kind)
}

// build returns the unstarted target in this process: the external one
// that `bench run` measures directly, or, for the others, a check of
// the options before a `bench serve` child is started with them.
func (u userTarget) build() (targets.Target, error) {
	if u.kind == "external" {
		if u.opts.AllowRemote {
			return external.NewAllowRemote(u.spec.Label, u.opts.URL)
		}
		return external.New(u.spec.Label, u.opts.URL)
	}
	return catalog.New(u.kind, u.opts)
}

// record is u as the result file keeps it.
func (u userTarget) record() results.TargetSpec {
	return results.TargetSpec{Label: u.spec.Label, Spec: u.spec.Text, Kind: u.kind, Options: u.opts.TargetOptions}
}

// loopbackAddr checks a FastCGI address: a unix socket, or tcp on a
// loopback address (the suite sends load nowhere else).
func loopbackAddr(addr string) error {
	network, a, err := fcgiaddr.Parse(addr)
	if err != nil {
		return err
	}
	if network == "unix" {
		return nil
	}
	host, _, _ := net.SplitHostPort(a)
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("FastCGI address %s: %q is not a loopback address", addr, host)
	}
	return nil
}
