package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"slices"
	"strings"
	"time"

	"forkbench/runner"
	"forkbench/targets"
	"forkbench/targets/catalog"
	"forkbench/targets/fronts"
	"forkbench/verify"
)

// verifyCmd implements `bench verify`: it starts every deployment named
// by --targets in this process, sends each the verification set, and
// fails naming the first difference from the specification or between
// deployments. Every target it started is stopped before it returns.
func verifyCmd(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	var o catalog.Options
	names := fs.String("targets", strings.Join(catalog.Kinds(), ","), "deployments to verify, comma-separated")
	targetFlags(fs, &o.TargetOptions)
	if err := noArgs(fs, args); err != nil {
		return err
	}
	if err := o.Resolve(ctx); err != nil {
		return err
	}
	o.ErrorLog = log.New(stderr, "", log.LstdFlags)
	var started []targets.Target
	defer func() { targets.StopAll(started...) }()
	var ds []verify.Deployment
	kinds := splitList(*names)
	if !slices.ContainsFunc(kinds, func(k string) bool { return !fronts.Known(k) }) {
		kinds = append(kinds, runner.ReferenceKind) // what the fronts are compared with
	}
	for _, name := range kinds {
		t, err := catalog.New(name, o)
		if err != nil {
			return err
		}
		if err := targets.Start(ctx, t); err != nil {
			return fmt.Errorf("verify: start %s: %w", name, err)
		}
		started = append(started, t)
		// A real front or the Python twin is compared byte for byte with
		// the Go app; the Go front's deployments meet the stricter spec.
		ds = append(ds, verify.Deployment{Name: name, URL: t.URL(), Identical: fronts.Known(name)})
	}
	client := &http.Client{Timeout: 30 * time.Second}
	if err := verify.All(ctx, client, ds); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "verify: %d deployments (%s) answered %d requests identically and to spec\n",
		len(ds), strings.Join(kinds, ","), len(verify.Cases()))
	return nil
}
