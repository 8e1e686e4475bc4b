package catalog

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"time"
)

// Serve implements `bench serve`: it starts one deployment, prints
// "listening on URL" as the first line of stdout, and runs until ctx is
// cancelled (SIGINT/SIGTERM in the CLI), then stops it, leaving no child
// process or socket file behind.
func Serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o Options
	kind := fs.String("target", "embedded", "deployment: embedded, cgi, fcgi or external")
	o.Register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("serve: unexpected argument %q", fs.Arg(0))
	}
	o.ErrorLog = log.New(stderr, *kind+": ", log.LstdFlags)
	if *kind != "external" {
		if err := o.Resolve(ctx); err != nil {
			return err
		}
	}
	t, err := New(*kind, o)
	if err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = t.Start(startCtx)
	cancel()
	if err != nil {
		_ = t.Stop(context.Background())
		return err
	}
	if _, err := fmt.Fprintf(stdout, "listening on %s\n", t.URL()); err != nil {
		_ = t.Stop(context.Background())
		return fmt.Errorf("serve: %w", err)
	}
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := t.Stop(stopCtx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
