package verify

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"time"

	"forkbench/targets"
	"forkbench/targets/catalog"
)

// Run implements `bench verify`: it starts every deployment named by
// --targets in this process, sends each the verification set, and fails
// naming the first difference from the specification or between
// deployments. Every target it started is stopped before it returns.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o catalog.Options
	names := fs.String("targets", strings.Join(catalog.Kinds(), ","), "deployments to verify, comma-separated")
	o.Register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("verify: unexpected argument %q", fs.Arg(0))
	}
	if err := o.Resolve(ctx); err != nil {
		return err
	}
	o.ErrorLog = log.New(stderr, "", log.LstdFlags)
	var started []targets.Target
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, t := range started {
			_ = t.Stop(stopCtx)
		}
	}()
	var ds []Deployment
	for _, name := range strings.Split(*names, ",") {
		name = strings.TrimSpace(name)
		t, err := catalog.New(name, o)
		if err != nil {
			return err
		}
		if err := t.Start(ctx); err != nil {
			_ = t.Stop(context.Background())
			return fmt.Errorf("verify: start %s: %w", name, err)
		}
		started = append(started, t)
		ds = append(ds, Deployment{Name: name, URL: t.URL()})
	}
	client := &http.Client{Timeout: 30 * time.Second}
	if err := All(ctx, client, ds); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "verify: %d deployments (%s) answered %d requests identically and to spec\n",
		len(ds), *names, len(Cases()))
	return nil
}
