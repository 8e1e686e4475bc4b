package targets

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"time"
)

// Front is the one Go net/http front every in-process deployment shares, so
// that the gateway protocol behind it is the only thing that differs between
// embedded, CGI and FastCGI.
type Front struct {
	// Listen is the TCP address to listen on; "" means 127.0.0.1:0 (a free
	// loopback port).
	Listen string
	// Handler answers every request.
	Handler http.Handler
	// ErrorLog receives the server's own errors; nil means the log package's
	// standard logger.
	ErrorLog *log.Logger

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
		Handler:           f.Handler,
		ErrorLog:          f.ErrorLog,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	go func() {
		if err := f.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && f.ErrorLog != nil {
			f.ErrorLog.Printf("targets: serve: %v", err)
		}
	}()
	return nil
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
