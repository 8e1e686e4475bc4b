// Command sampleapp is the lean binary that deploys the sample application
// (forkbench/app) out of the front's process: the program a CGI front execs
// for every request, and the FastCGI daemon a FastCGI front talks to. It
// links the standard library and the app only, so that its exec and start-up
// cost is the application's and not the suite's.
//
// Modes (exactly one, or none under CGI):
//
//	sampleapp                      CGI child: GATEWAY_INTERFACE is set; serve one request
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
// gets a clean environment, so the host passes it there). The daemons print
// one line to stdout once they accept requests, "listening on ADDR" with the
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
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/fcgi"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"forkbench/app"
	"forkbench/internal/fcgiaddr"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// shutdownGrace bounds how long -http waits for requests in flight on
// SIGTERM: longer than the longest /sleep the app allows by default.
const shutdownGrace = app.DefaultMaxSleep + 5*time.Second

// errUsage marks a bad command line (exit status 2).
var errUsage = errors.New("sampleapp: usage")

// run is the whole program but the exit; it returns the exit status.
func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sampleapp", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		dbPath      = fs.String("db", "", "SQLite `file` made by -seed (default $FORKBENCH_DB)")
		seedPath    = fs.String("seed", "", "create the database at `path` and exit")
		noop        = fs.Bool("noop", false, "exit 0 before any start-up (measures the Go runtime floor)")
		startupOnly = fs.Bool("startup-only", false, "start the app, close it and exit (measures app start-up)")
		fcgiAddr    = fs.String("fcgi", "", "serve FastCGI on `addr`: unix:/path, tcp:host:port or host:port")
		httpAddr    = fs.String("http", "", "serve plain HTTP on `addr` (host:port)")
		echoLimit   = fs.Int64("echo-limit", 0, "largest POST /echo body in bytes (0: app default)")
		maxBytes    = fs.Int64("max-bytes", 0, "largest /bytes?n (0: app default)")
		maxWork     = fs.Int("max-work", 0, "largest /work?n (0: app default)")
		maxSleep    = fs.Duration("max-sleep", 0, "longest /sleep (0: app default)")
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	// -noop comes first, before anything else is looked at, so that it
	// measures only exec and the runtime's own start.
	if *noop {
		return 0
	}

	modes := 0
	for _, set := range []bool{*seedPath != "", *startupOnly, *fcgiAddr != "", *httpAddr != ""} {
		if set {
			modes++
		}
	}
	cgiChild := modes == 0 && getenv("GATEWAY_INTERFACE") != ""
	switch {
	case fs.NArg() > 0:
		return usage(stderr, fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0)))
	case modes > 1:
		return usage(stderr, fmt.Errorf("%w: -seed, -startup-only, -fcgi and -http exclude each other", errUsage))
	case modes == 0 && !cgiChild:
		return usage(stderr, fmt.Errorf("%w: choose a mode (or run as a CGI program)", errUsage))
	}

	if *seedPath != "" {
		return fail(stderr, app.Seed(context.Background(), *seedPath))
	}

	logger := log.New(stderr, "sampleapp: ", 0)
	cfg := app.Config{
		DBPath:    *dbPath,
		EchoLimit: *echoLimit,
		MaxBytes:  *maxBytes,
		MaxWork:   *maxWork,
		MaxSleep:  *maxSleep,
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

	switch {
	case *startupOnly:
		err = nil
	case cgiChild:
		// net/http/cgi has no panic recovery: a panic would leave the host
		// half a response.
		err = cgi.Serve(app.Recover(h, logger.Printf))
		if err != nil {
			err = fmt.Errorf("sampleapp: cgi: %w", err)
		}
	case *fcgiAddr != "":
		err = serveFCGI(*fcgiAddr, h, logger, stdout)
	case *httpAddr != "":
		err = serveHTTP(*httpAddr, h, logger, stdout)
	}
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

// signalContext is cancelled by SIGINT or SIGTERM, the daemons' stop.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// removeStaleSocket removes a unix socket left by a daemon that died without
// cleaning up. It refuses to remove anything but a socket, and a socket
// something still listens on.
func removeStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sampleapp: %w", err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("sampleapp: %s exists and is not a socket", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("sampleapp: %s: another process is listening on it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("sampleapp: %w", err)
	}
	return nil
}

// serveFCGI runs the FastCGI daemon until SIGINT or SIGTERM.
func serveFCGI(addr string, h http.Handler, logger *log.Logger, stdout io.Writer) error {
	network, address, err := fcgiaddr.Parse(addr)
	if err != nil {
		return fmt.Errorf("sampleapp: -fcgi: %w", err)
	}
	if network == "unix" {
		if err := removeStaleSocket(address); err != nil {
			return err
		}
	}
	ctx, stop := signalContext()
	defer stop()
	ln, err := new(net.ListenConfig).Listen(ctx, network, address)
	if err != nil {
		return fmt.Errorf("sampleapp: %w", err)
	}
	if network == "unix" {
		// Close unlinks the socket itself; this covers a failure
		// between here and the Close.
		defer os.Remove(address)
	}
	bound := fcgiaddr.Format(network, ln.Addr().String())
	if network == "unix" {
		bound = fcgiaddr.Format(network, address)
	}
	if _, err := fmt.Fprintf(stdout, "listening on %s\n", bound); err != nil {
		ln.Close()
		return fmt.Errorf("sampleapp: %w", err)
	}

	errc := make(chan error, 1)
	go func() { errc <- fcgi.Serve(ln, app.Recover(h, logger.Printf)) }()
	select {
	case <-ctx.Done():
		// net/http/fcgi has no graceful shutdown: closing the listener
		// stops new connections; requests in flight end with the process.
		ln.Close()
		<-errc
		return nil
	case err := <-errc:
		ln.Close()
		return fmt.Errorf("sampleapp: fcgi: %w", err)
	}
}

// serveHTTP runs a plain HTTP server until SIGINT or SIGTERM, then drains it.
func serveHTTP(addr string, h http.Handler, logger *log.Logger, stdout io.Writer) error {
	ctx, stop := signalContext()
	defer stop()
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("sampleapp: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          logger,
	}
	if _, err := fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr()); err != nil {
		ln.Close()
		return fmt.Errorf("sampleapp: %w", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
			return fmt.Errorf("sampleapp: shutdown: %w", err)
		}
		return nil
	case err := <-errc:
		return fmt.Errorf("sampleapp: http: %w", err)
	}
}
