// Package embedded deploys the sample app in the front's own process: the
// front calls the handler directly, with no process boundary and no
// gateway protocol. It is the baseline the other deployments are compared
// against.
package embedded

import (
	"context"
	"fmt"
	"log"
	"os"

	"forkbench/app"
	"forkbench/targets"
)

// Config configures the embedded deployment.
type Config struct {
	// Listen is the front's TCP address; "" means a free loopback port.
	Listen string
	// App is the application's configuration (DBPath is required).
	App app.Config
	// ErrorLog receives the front's errors; nil means the standard logger.
	ErrorLog *log.Logger
}

// Target is the embedded deployment.
type Target struct {
	cfg   Config
	app   *app.App
	front targets.Front
}

var _ targets.Target = (*Target)(nil)

// New returns an unstarted embedded deployment.
func New(cfg Config) *Target { return &Target{cfg: cfg} }

// Name reports "embedded".
func (t *Target) Name() string { return "embedded" }

// Start runs the app's start-up once and serves it.
func (t *Target) Start(ctx context.Context) error {
	a, err := app.New(t.cfg.App)
	if err != nil {
		return fmt.Errorf("embedded: %w", err)
	}
	t.app = a
	// Recover as the FastCGI daemon and the CGI child do, so a panicking
	// handler is a 500 in every deployment alike.
	h := app.Recover(a, func(format string, args ...any) {
		if t.cfg.ErrorLog != nil {
			t.cfg.ErrorLog.Printf(format, args...)
		}
	})
	t.front = targets.Front{Listen: t.cfg.Listen, Handler: h, ErrorLog: t.cfg.ErrorLog}
	if err := t.front.Start(); err != nil {
		_ = a.Close()
		t.app = nil
		return fmt.Errorf("embedded: %w", err)
	}
	return nil
}

// URL is the front's base URL.
func (t *Target) URL() string { return t.front.URL() }

// PIDs is this process: the handler runs in it.
func (t *Target) PIDs() []int { return []int{os.Getpid()} }

// Stop shuts the front down and closes the app.
func (t *Target) Stop(ctx context.Context) error {
	err := t.front.Stop(ctx)
	if t.app != nil {
		if cerr := t.app.Close(); err == nil {
			err = cerr
		}
		t.app = nil
	}
	return err
}
