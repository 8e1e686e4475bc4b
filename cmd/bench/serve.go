package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"strings"
	"time"

	"forkbench/targets"
	"forkbench/targets/catalog"
)

// serve implements `bench serve`: it starts one deployment, prints
// "listening on URL" as the first line of stdout, and runs until ctx is
// cancelled (SIGINT/SIGTERM), then stops it, leaving no child process or
// socket file behind. `bench run` starts its targets this way, handing
// them its options as data (--options JSON).
func serve(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	var o catalog.Options
	kind := fs.String("target", "embedded", "deployment: a built-in name (embedded, cgi, fcgi, external, …) or one spec: cgi:PROGRAM, fcgi-cmd:'COMMAND'[@ADDR], fcgi-addr:ADDR, url:URL")
	targetFlags(fs, &o.TargetOptions)
	optsJSON := fs.String("options", "", "target options as JSON (results.TargetOptions), over the flags")
	fs.StringVar(&o.LogDir, "log-dir", "", "keep a real front's server logs (Apache, nginx, uWSGI) in this directory")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if *optsJSON != "" {
		if err := json.Unmarshal([]byte(*optsJSON), &o.TargetOptions); err != nil {
			return fmt.Errorf("serve: --options: %w", err)
		}
	}
	if !known(*kind) {
		specs, err := targets.ParseSpecs(*kind, known)
		if err != nil {
			return fmt.Errorf("serve: --target: %w", err)
		}
		if len(specs) != 1 {
			return fmt.Errorf("serve: --target: one target, got %d", len(specs))
		}
		k, so, err := specOptions(specs[0], o)
		if err != nil {
			return fmt.Errorf("serve: --target %s: %w", specs[0].Text, err)
		}
		*kind, o = k, so
	}
	o.ErrorLog = log.New(stderr, *kind+": ", log.LstdFlags)
	if *kind != "external" {
		if err := o.Resolve(ctx); err != nil {
			return err
		}
	}
	t, err := catalog.New(*kind, o)
	if err != nil {
		return err
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = targets.Start(startCtx, t)
	cancel()
	if errors.Is(err, targets.ErrUnavailable) {
		// The runner skips this target with the reason (targets.Process).
		fmt.Fprintf(stdout, "%s%s\n", targets.UnavailablePrefix, strings.TrimPrefix(err.Error(), "fronts: "))
	}
	if err != nil {
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
