package targets

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"

	"forkbench/internal/gateway"
)

// Defaults for the zero values of Front's timeouts.
const (
	// DefaultReadHeaderTimeout bounds reading a request's head (slowloris).
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultReadTimeout bounds reading a whole request, body included.
	DefaultReadTimeout = time.Minute
	// DefaultWriteTimeout bounds writing a response, from the end of its
	// request's head: a client that reads too slowly is cut off, and the
	// CGI child or FastCGI connection serving it is freed.
	DefaultWriteTimeout = time.Minute
	// DefaultIdleTimeout bounds how long a kept-alive connection may wait
	// for its next request.
	DefaultIdleTimeout = 2 * time.Minute
)

// Front is the one Go net/http front every in-process deployment shares, so
// that the gateway protocol behind it is the only thing that differs between
// embedded, CGI and FastCGI. It applies the one request policy of them all
// (Body) and bounds slow and idle clients.
type Front struct {
	// Listen is the TCP address to listen on; "" means 127.0.0.1:0 (a free
	// loopback port).
	Listen string
	// Handler answers every request.
	Handler http.Handler
	// ErrorLog receives the server's own errors; nil means the log package's
	// standard logger.
	ErrorLog *log.Logger
	// Body is the request body policy applied before Handler sees a
	// request: bodies over the limit get 413, and a body of unknown length
	// is spooled and handed on with its length, whatever the deployment.
	Body gateway.BodyPolicy
	// ReadHeaderTimeout, ReadTimeout, WriteTimeout and IdleTimeout are
	// http.Server's; 0 means the Default of the same name, and a negative
	// value means no bound.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration

	ln  net.Listener
	srv *http.Server
	url string
}

// Start listens and serves in the background. It returns once the listener
// is bound, so the URL is immediately usable.
func (f *Front) Start() error {
	addr := f.Listen
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("targets: listen %s: %w", addr, err)
	}
	f.ln = ln
	f.url = "http://" + ln.Addr().String()
	f.srv = &http.Server{
		Handler:           f.Body.Handler(f.Handler),
		ErrorLog:          f.ErrorLog,
		ReadHeaderTimeout: timeout(f.ReadHeaderTimeout, DefaultReadHeaderTimeout),
		ReadTimeout:       timeout(f.ReadTimeout, DefaultReadTimeout),
		WriteTimeout:      timeout(f.WriteTimeout, DefaultWriteTimeout),
		IdleTimeout:       timeout(f.IdleTimeout, DefaultIdleTimeout),
	}
	go func() {
		if err := f.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && f.ErrorLog != nil {
			f.ErrorLog.Printf("targets: serve: %v", err)
		}
	}()
	return nil
}

// timeout maps a Front timeout to http.Server's, where 0 means none.
func timeout(v, d time.Duration) time.Duration {
	switch {
	case v == 0:
		return d
	case v < 0:
		return 0
	}
	return v
}

// URL is the base URL of the front, "" before Start.
func (f *Front) URL() string { return f.url }

// Stop shuts the server down gracefully within ctx, then closes whatever
// connections remain.
func (f *Front) Stop(ctx context.Context) error {
	if f.srv == nil {
		return nil
	}
	err := f.srv.Shutdown(ctx)
	if err != nil {
		_ = f.srv.Close()
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = nil // in-flight requests were cut off on purpose
	}
	return err
}
