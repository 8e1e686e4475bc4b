package main

// This file holds what every command's flags share: one flag set
// constructor, one parser that lets flags follow the positional arguments,
// the target options' flags, lists and thresholds.

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"forkbench/results"
	"forkbench/targets/fcgi"
)

// newFlagSet returns a flag set that reports errors instead of exiting.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// setUsage makes fs's usage the command's synopsis followed by its flags,
// printed to fs's output: what -h and a wrong argument count show.
func setUsage(fs *flag.FlagSet, synopsis string) {
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), synopsis)
		fs.PrintDefaults()
	}
}

// parseArgs parses flags that may come before, between or after the
// positional arguments (`bench compare a.json b.json --threshold 3%`), as
// users type them, and returns the positional arguments. Everything after
// "--" is positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// noArgs parses args and fails on a positional argument.
func noArgs(fs *flag.FlagSet, args []string) error {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%s: unexpected argument %q", strings.TrimPrefix(fs.Name(), "bench "), pos[0])
	}
	return nil
}

// badInput marks err as exit status 2 unless it asks for help.
func badInput(err error) error {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &exitError{code: 2, err: err}
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// parseThreshold reads "5%" or "0.05" as 0.05.
func parseThreshold(s string) (float64, error) {
	t := strings.TrimSpace(s)
	scale := 1.0
	if v, ok := strings.CutSuffix(t, "%"); ok {
		t, scale = v, 0.01
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("threshold %q: want e.g. 5%% or 0.05", s)
	}
	return f * scale, nil
}

// targetFlags adds the target options' flags to fs (serve, verify, run,
// loadgen-check).
func targetFlags(fs *flag.FlagSet, o *results.TargetOptions) {
	fs.StringVar(&o.Listen, "listen", "", "front address (default a free 127.0.0.1 port)")
	fs.StringVar(&o.AppBin, "app-bin", "", "sample app binary (default: sampleapp beside bench)")
	fs.StringVar(&o.DataDir, "data", "", "directory of the app's SQLite database (default: user cache dir)")
	fs.StringVar(&o.CGIBin, "cgi-bin", "", "CGI program run per request (default: the sample app)")
	fs.DurationVar(&o.CGITimeout, "cgi-timeout", 30*time.Second, "CGI per-request timeout; the child's process group is killed after it")
	fs.IntVar(&o.CGIMaxChildren, "cgi-max-children", 0, "concurrent CGI children (default 4×CPUs)")
	fs.DurationVar(&o.CGIQueueTimeout, "cgi-queue-timeout", 0, "how long excess CGI requests wait for a slot before a 503 (default 1s); negative: 503 at once")
	fs.BoolVar(&o.PassAuth, "pass-auth", false, "pass Authorization and Proxy-Authorization to CGI/FastCGI applications (like Apache's CGIPassAuth)")
	fs.StringVar(&o.FCGIAddr, "fcgi-addr", "", "FastCGI daemon address unix:PATH or tcp:HOST:PORT (default: private unix socket)")
	fs.StringVar(&o.FCGIDaemon, "fcgi-daemon", "", "FastCGI daemon program (default: the sample app)")
	fs.BoolVar(&o.FCGIExternal, "fcgi-external", false, "connect to an already running daemon at --fcgi-addr instead of starting one")
	fs.IntVar(&o.FCGIMaxConns, "fcgi-max-conns", 0, "FastCGI connections to the daemon (default: the daemon's FCGI_MAX_CONNS; if it declares none, kept only for a multiplexing daemon); set to PHP-FPM's pm.max_children")
	fs.BoolVar(&o.FCGINoKeepConn, "fcgi-no-keep-conn", false, "one FastCGI connection per request (no FCGI_KEEP_CONN)")
	fs.Func("fcgi-param", "FastCGI parameter `NAME=VALUE` sent with every request, e.g. SCRIPT_FILENAME=/srv/index.php (repeatable)", func(s string) error {
		if _, _, err := fcgi.ParseParam(s); err != nil {
			return err
		}
		o.FCGIParams = append(o.FCGIParams, s)
		return nil
	})
	fs.DurationVar(&o.FCGITimeout, "fcgi-timeout", 30*time.Second, "FastCGI per-request timeout")
	fs.StringVar(&o.URL, "url", "", "base URL of an external target (loopback only)")
}
