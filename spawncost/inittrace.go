package spawncost

// This file attributes package-init with the Go runtime's own account of
// it: GODEBUG=inittrace=1 makes a Go program print one line per package
// initialiser it runs, with the wall-clock time the initialiser took.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strings"

	"forkbench/results"
)

// pkgInit is one package initialiser as inittrace reports it.
type pkgInit struct {
	pkg     string
	clockNs float64 // wall-clock time in the initialiser
}

// parseInitTrace reads the "init PKG @T ms, C ms clock, B bytes, A allocs"
// lines of GODEBUG=inittrace=1 from out, ignoring any other line.
func parseInitTrace(out []byte) []pkgInit {
	var ps []pkgInit
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var (
			pkg           string
			at, clock     float64
			bytes, allocs int64
		)
		n, _ := fmt.Sscanf(sc.Text(), "init %s @%g ms, %g ms clock, %d bytes, %d allocs", &pkg, &at, &clock, &bytes, &allocs)
		if n == 5 {
			ps = append(ps, pkgInit{pkg: pkg, clockNs: clock * 1e6})
		}
	}
	return ps
}

// initTrace runs path with args once under GODEBUG=inittrace=1 and returns
// its package initialisers.
func initTrace(ctx context.Context, path string, args ...string) ([]pkgInit, error) {
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = childEnv("GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("spawncost: %s %v with inittrace: %w", path, args, err)
	}
	ps := parseInitTrace(stderr.Bytes())
	if len(ps) == 0 {
		return nil, fmt.Errorf("spawncost: %s %v printed no inittrace lines", path, args)
	}
	return ps, nil
}

// origin is where package pkg comes from: "std" for the standard library
// (no dot in its first path element), else its module path, approximated
// as the first three path elements on the hosts that nest by owner
// (github.com, golang.org, gonum.org) and the first two elsewhere.
func origin(pkg string) string {
	el := strings.Split(pkg, "/")
	if !strings.Contains(el[0], ".") {
		return "std"
	}
	n := 2
	switch el[0] {
	case "github.com", "golang.org", "gonum.org":
		n = 3
	}
	return strings.Join(el[:min(n, len(el))], "/")
}

// traceNote is the ForkNoteInitTrace of the app's initialisers (app)
// and the empty program's (empty): each one's count and total time, and
// the app's top largest origins (the standard library or a module) with
// their time and package count, largest first.
func traceNote(app, empty []pkgInit, top int) results.Note {
	type group struct {
		name    string
		clockNs float64
		n       int
	}
	total := func(ps []pkgInit) float64 {
		var t float64
		for _, p := range ps {
			t += p.clockNs
		}
		return t
	}
	var gs []group
	for _, p := range app {
		o := origin(p.pkg)
		i := slices.IndexFunc(gs, func(g group) bool { return g.name == o })
		if i < 0 {
			gs = append(gs, group{name: o})
			i = len(gs) - 1
		}
		gs[i].clockNs += p.clockNs
		gs[i].n++
	}
	n := results.Note{Kind: results.ForkNoteInitTrace, Figures: map[string]float64{
		"app_inits": float64(len(app)), "app_ns": total(app), "empty_inits": float64(len(empty)), "empty_ns": total(empty)}}
	slices.SortStableFunc(gs, func(a, b group) int { return cmp.Compare(b.clockNs, a.clockNs) })
	for _, g := range gs[:min(top, len(gs))] {
		n.Detail = append(n.Detail, g.name)
		n.Values = append(n.Values, g.clockNs, float64(g.n))
	}
	return n
}

// initTraceNote notes what the package initialisers of sampleapp -noop
// and of the empty Go program take by their own account (one traced run
// each, outside the measured rows): the part of package-init spent in
// init functions, as against loading a larger binary.
func (m *measurer) initTraceNote(ctx context.Context) {
	app, err := initTrace(ctx, m.cfg.AppBin, "-noop")
	if err != nil {
		m.note(errNote(results.ForkNoteNoInitTrace, "", err))
		return
	}
	empty, err := initTrace(ctx, m.goEmpty)
	if err != nil {
		m.note(errNote(results.ForkNoteNoInitTrace, "", err))
		return
	}
	m.note(traceNote(app, empty, 5))
}
