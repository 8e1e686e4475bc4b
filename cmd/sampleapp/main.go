// Command sampleapp is the lean binary that deploys the sample application
// (forkbench/app) out of the front's process: the program a CGI front execs
// for every request, and the FastCGI daemon a FastCGI front talks to. It
// links the standard library and the app only, so that its exec and start-up
// cost is the application's and not the suite's.
//
// Modes (exactly one, or none under CGI or a FastCGI process manager; the
// switch is forkbench/gateway's, so this binary is also its example):
//
//	sampleapp                      CGI child: GATEWAY_INTERFACE is set; serve one request
//	sampleapp                      FastCGI on fd 0 when it is a listening socket (mod_fcgid, spawn-fcgi)
//	sampleapp -fcgi unix:/s.sock   FastCGI daemon (also tcp:HOST:PORT or HOST:PORT)
//	sampleapp -http 127.0.0.1:0    plain HTTP server
//	sampleapp -seed PATH           create the database and exit
//	sampleapp -noop                exit 0 before any start-up: the Go runtime floor
//	sampleapp -startup-only        start the app, close it and exit: the app's start-up
//
// -echo-limit, -max-bytes, -max-work and -max-sleep set the app's limits
// (app.Config; zero keeps the app's defaults), in every mode that serves.
//
// The database is -db, or $FORKBENCH_DB when -db is not given (a CGI child
// gets a clean environment, so the host passes it there). The daemons on an
// address print one line to stdout once they accept requests, "listening on ADDR" with the
// address actually bound, and nothing else; they stop on SIGINT or SIGTERM
// and exit 0. Errors are one line on stderr and exit status 1; a bad command
// line exits 2.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"forkbench/app"
	"forkbench/gateway"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// shutdownGrace bounds how long -http waits for requests in flight on
// SIGTERM: longer than the longest /sleep the app allows by default.
const shutdownGrace = app.DefaultMaxSleep + 5*time.Second

// errUsage marks a bad command line (exit status 2).
var errUsage = errors.New("sampleapp: usage")

// flags is the parsed command line.
type flags struct {
	db, seed, fcgi, http string
	noop, startupOnly    bool
	echoLimit, maxBytes  int64
	maxWork              int
	maxSleep             time.Duration
	nargs                int
	firstArg             string
}

// parseFlags parses args; ok is false when run should return status at
// once (-h, or a flag error already printed).
func parseFlags(args []string, stderr io.Writer) (f flags, status int, ok bool) {
	fs := flag.NewFlagSet("sampleapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.db, "db", "", "SQLite `file` made by -seed (default $FORKBENCH_DB)")
	fs.StringVar(&f.seed, "seed", "", "create the database at `path` and exit")
	fs.BoolVar(&f.noop, "noop", false, "exit 0 before any start-up (measures the Go runtime floor)")
	fs.BoolVar(&f.startupOnly, "startup-only", false, "start the app, close it and exit (measures app start-up)")
	fs.StringVar(&f.fcgi, "fcgi", "", "serve FastCGI on `addr`: unix:/path, tcp:host:port or host:port")
	fs.StringVar(&f.http, "http", "", "serve plain HTTP on `addr` (host:port)")
	fs.Int64Var(&f.echoLimit, "echo-limit", 0, "largest POST /echo body in bytes (0: app default)")
	fs.Int64Var(&f.maxBytes, "max-bytes", 0, "largest /bytes?n (0: app default)")
	fs.IntVar(&f.maxWork, "max-work", 0, "largest /work?n (0: app default)")
	fs.DurationVar(&f.maxSleep, "max-sleep", 0, "longest /sleep (0: app default)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return f, 0, false
		}
		return f, 2, false
	}
	f.nargs, f.firstArg = fs.NArg(), fs.Arg(0)
	return f, 0, true
}

// modes counts the mode flags given; they exclude each other.
func (f flags) modes() int {
	n := 0
	for _, set := range []bool{f.seed != "", f.startupOnly, f.fcgi != "", f.http != ""} {
		if set {
			n++
		}
	}
	return n
}

// run is the whole program but the exit; it returns the exit status.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	f, status, ok := parseFlags(args, stderr)
	if !ok {
		return status
	}
	// -noop comes first, before anything else is looked at, so that it
	// measures only exec and the runtime's own start.
	if f.noop {
		return 0
	}
	logger := log.New(stderr, "sampleapp: ", 0)
	gw := gateway.Config{
		FastCGI:       f.fcgi,
		HTTP:          f.http,
		Stdout:        stdout,
		ErrorLog:      logger,
		ShutdownGrace: shutdownGrace,
		Getenv:        getenv,
	}
	// With no mode flag, the program serves only when started as a CGI
	// child or by a FastCGI process manager (listening socket on fd 0).
	mode := gw.Mode()
	switch {
	case f.nargs > 0:
		return usage(stderr, fmt.Errorf("%w: unexpected argument %q", errUsage, f.firstArg))
	case f.modes() > 1:
		return usage(stderr, fmt.Errorf("%w: -seed, -startup-only, -fcgi and -http exclude each other", errUsage))
	case f.modes() == 0 && mode == gateway.HTTP:
		return usage(stderr, fmt.Errorf("%w: choose a mode (or run as a CGI program or under a FastCGI process manager)", errUsage))
	}
	if f.seed != "" {
		return fail(stderr, app.Seed(context.Background(), f.seed))
	}
	return serve(f, gw, mode, getenv, logger, stderr)
}

// serve opens the app and serves it in mode until a signal (or, for
// -startup-only, closes it at once).
func serve(f flags, gw gateway.Config, mode gateway.Mode, getenv func(string) string, logger *log.Logger, stderr io.Writer) int {
	cfg := app.Config{
		DBPath:    f.db,
		EchoLimit: f.echoLimit,
		MaxBytes:  f.maxBytes,
		MaxWork:   f.maxWork,
		MaxSleep:  f.maxSleep,
		Logf:      logger.Printf,
	}
	if cfg.DBPath == "" {
		cfg.DBPath = getenv("FORKBENCH_DB")
	}
	if cfg.DBPath == "" {
		return fail(stderr, errors.New("sampleapp: no database: give -db or set FORKBENCH_DB"))
	}
	a, err := app.New(cfg)
	if err != nil {
		return fail(stderr, err)
	}
	h := slowdown(a) // a no-op except in the forkbench_slow test build
	if f.startupOnly {
		return fail(stderr, a.Close())
	}
	if mode != gateway.HTTP {
		// net/http/cgi and net/http/fcgi have no panic recovery: a panic
		// would leave the front half a response.
		h = app.Recover(h, logger.Printf)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = gw.Serve(ctx, h)
	return fail(stderr, errors.Join(err, a.Close()))
}

// usage reports a bad command line.
func usage(stderr io.Writer, err error) int {
	fmt.Fprintln(stderr, err)
	fmt.Fprintln(stderr, "run 'sampleapp -h' for the flags")
	return 2
}

// fail turns err into an exit status, printing it on one line.
func fail(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	msg := strings.ReplaceAll(err.Error(), "\n", "; ")
	if !strings.HasPrefix(msg, "sampleapp: ") && !strings.HasPrefix(msg, "app: ") {
		msg = "sampleapp: " + msg
	}
	fmt.Fprintln(stderr, msg)
	return 1
}
