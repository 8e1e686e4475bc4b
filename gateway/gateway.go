// Package gateway makes any Go http.Handler deployable three ways with one
// line, as the classic gateways expect a program to behave:
//
//	func main() { log.Fatal(gateway.Serve(handler)) }
//
// Started by a web server as a CGI program (GATEWAY_INTERFACE set), it
// answers the one request on stdin/stdout and returns. Started by a FastCGI
// process manager (mod_fcgid, spawn-fcgi) with the listening socket as file
// descriptor 0 (FCGI_LISTENSOCK_FILENO), it serves FastCGI on that socket.
// Otherwise it serves HTTP. Config adds an explicit FastCGI or HTTP address
// and a context for shutdown.
//
// This is the mode switch of forkbench's sample app published for any
// application; it is unrelated to forkbench/internal/gateway, the CGI
// meta-variable mapping of the suite's own fronts.
package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/fcgi"
	"os"
	"os/signal"
	"syscall"
	"time"

	"forkbench/internal/fcgiaddr"
)

// Mode is how a program is deployed.
type Mode int

const (
	// HTTP serves plain HTTP on an address.
	HTTP Mode = iota
	// CGI answers one request as a CGI child (RFC 3875).
	CGI
	// FastCGI serves FastCGI on an address it listens on itself.
	FastCGI
	// FastCGIListener serves FastCGI on the listening socket it was given
	// as file descriptor 0 by a process manager.
	FastCGIListener
)

func (m Mode) String() string {
	switch m {
	case HTTP:
		return "http"
	case CGI:
		return "cgi"
	case FastCGI:
		return "fastcgi"
	case FastCGIListener:
		return "fastcgi-listener"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// DefaultHTTPAddr is where HTTP is served when neither Config.HTTP nor
// $PORT says otherwise: loopback only, as a program that was not told
// where to listen should not face the network.
const DefaultHTTPAddr = "127.0.0.1:8080"

// DefaultShutdownGrace bounds how long HTTP serving waits for requests in
// flight once the context ends.
const DefaultShutdownGrace = 10 * time.Second

// Config chooses and tunes the deployment; the zero value detects it.
type Config struct {
	// FastCGI, if set, serves FastCGI on this address: "unix:/path",
	// "tcp:host:port" or "host:port". It takes precedence over detection.
	FastCGI string
	// HTTP, if set, serves HTTP on this host:port. Unset, HTTP (when no
	// other mode applies) listens on 127.0.0.1:$PORT if PORT is set, else
	// DefaultHTTPAddr.
	HTTP string
	// Stdout receives the one line "listening on ADDR" once a daemon mode
	// (HTTP, or FastCGI on an address) accepts connections: "http://H:P",
	// "unix:PATH" or "tcp:H:P". nil means os.Stdout.
	Stdout io.Writer
	// ErrorLog receives the HTTP server's errors; nil means the log
	// package's standard logger.
	ErrorLog *log.Logger
	// ShutdownGrace bounds the HTTP drain at shutdown; 0 means
	// DefaultShutdownGrace.
	ShutdownGrace time.Duration
	// Getenv reads GATEWAY_INTERFACE and PORT; nil means os.Getenv.
	Getenv func(string) string
}

// Serve detects how the program was started and serves h accordingly
// until SIGINT or SIGTERM (daemon modes) or after the one request (CGI).
func Serve(h http.Handler) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Config{}.Serve(ctx, h)
}

// ErrConflict is returned when both FastCGI and HTTP addresses are set.
var ErrConflict = errors.New("gateway: both a FastCGI and an HTTP address given")

// Mode reports the deployment Serve would choose, in this order: an
// explicit FastCGI address, an explicit HTTP address, a listening socket on
// fd 0 (a CGI child's stdin is a pipe or a connected socket, never a
// listening one, so this test comes before GATEWAY_INTERFACE, which some
// process managers also set), GATEWAY_INTERFACE, and HTTP.
func (c Config) Mode() Mode {
	switch {
	case c.FastCGI != "":
		return FastCGI
	case c.HTTP != "":
		return HTTP
	case stdinListening():
		return FastCGIListener
	case c.getenv("GATEWAY_INTERFACE") != "":
		return CGI
	}
	return HTTP
}

// Serve serves h in the detected mode until ctx ends (daemon modes) or the
// request is answered (CGI). Daemon modes return nil when stopped by ctx.
func (c Config) Serve(ctx context.Context, h http.Handler) error {
	if c.FastCGI != "" && c.HTTP != "" {
		return ErrConflict
	}
	switch c.Mode() {
	case CGI:
		if err := cgi.Serve(h); err != nil {
			return fmt.Errorf("gateway: cgi: %w", err)
		}
		return nil
	case FastCGIListener:
		f := os.NewFile(0, "fcgi-listener")
		ln, err := net.FileListener(f)
		f.Close() // FileListener holds its own duplicate
		if err != nil {
			return fmt.Errorf("gateway: fd 0: %w", err)
		}
		return serveFCGI(ctx, ln, h)
	case FastCGI:
		return c.listenFCGI(ctx, h)
	}
	return c.serveHTTP(ctx, h)
}

func (c Config) getenv(k string) string {
	if c.Getenv == nil {
		return os.Getenv(k)
	}
	return c.Getenv(k)
}

func (c Config) stdout() io.Writer {
	if c.Stdout == nil {
		return os.Stdout
	}
	return c.Stdout
}

// listenFCGI listens on c.FastCGI, announces it and serves until ctx ends.
func (c Config) listenFCGI(ctx context.Context, h http.Handler) error {
	network, address, err := fcgiaddr.Parse(c.FastCGI)
	if err != nil {
		return fmt.Errorf("gateway: FastCGI address: %w", err)
	}
	if network == "unix" {
		if err := removeStaleSocket(address); err != nil {
			return err
		}
	}
	ln, err := new(net.ListenConfig).Listen(ctx, network, address)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
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
	if _, err := fmt.Fprintf(c.stdout(), "listening on %s\n", bound); err != nil {
		ln.Close()
		return fmt.Errorf("gateway: %w", err)
	}
	return serveFCGI(ctx, ln, h)
}

// serveFCGI serves FastCGI on ln until ctx ends or accepting fails.
func serveFCGI(ctx context.Context, ln net.Listener, h http.Handler) error {
	errc := make(chan error, 1)
	go func() { errc <- fcgi.Serve(ln, h) }()
	select {
	case <-ctx.Done():
		// net/http/fcgi has no graceful shutdown: closing the listener
		// stops new connections; requests in flight end with the process.
		ln.Close()
		<-errc
		return nil
	case err := <-errc:
		ln.Close()
		return fmt.Errorf("gateway: fcgi: %w", err)
	}
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
		return fmt.Errorf("gateway: %w", err)
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("gateway: %s exists and is not a socket", path)
	}
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return fmt.Errorf("gateway: %s: another process is listening on it", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("gateway: %w", err)
	}
	return nil
}

// serveHTTP serves HTTP until ctx ends, then drains within ShutdownGrace.
func (c Config) serveHTTP(ctx context.Context, h http.Handler) error {
	addr := c.HTTP
	if addr == "" {
		addr = DefaultHTTPAddr
		if p := c.getenv("PORT"); p != "" {
			addr = net.JoinHostPort("127.0.0.1", p)
		}
	}
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: c.ErrorLog}
	if _, err := fmt.Fprintf(c.stdout(), "listening on http://%s\n", ln.Addr()); err != nil {
		ln.Close()
		return fmt.Errorf("gateway: %w", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
		grace := c.ShutdownGrace
		if grace <= 0 {
			grace = DefaultShutdownGrace
		}
		sctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		if err := srv.Shutdown(sctx); err != nil {
			srv.Close()
			return fmt.Errorf("gateway: shutdown: %w", err)
		}
		return nil
	case err := <-errc:
		return fmt.Errorf("gateway: http: %w", err)
	}
}
