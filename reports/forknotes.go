package reports

// This file words the spawn-cost document's notes (Fork.Notes, the kinds
// in results/forknotes.go) as the sentences `bench fork` has always
// printed: durations with units.FixedDuration, relative figures as signed
// whole percents, so that a note reads the same from an old file's
// sentence and from a new file's data.

import (
	"fmt"
	"strings"

	"forkbench/internal/units"
	"forkbench/results"
)

// forkNoteText words a spawn-cost note.
func forkNoteText(n results.Note) (string, bool) {
	if s, ok := forkComponentNoteText(n); ok {
		return s, true
	}
	if s, ok := forkDecompositionNoteText(n); ok {
		return s, true
	}
	return forkFactorNoteText(n)
}

// forkFig is n's figure k formatted by f, or units.Dash when n lacks it:
// a size that could not be read, or a ratio that was not finite (JSON
// holds no NaN or infinity, so spawncost leaves such a figure out).
func forkFig(n results.Note, k string, f func(float64) string) string {
	v, ok := n.Figures[k]
	if !ok {
		return units.Dash
	}
	return f(v)
}

// forkNs is n's figure k as a duration.
func forkNs(n results.Note, k string) string { return forkFig(n, k, units.FixedDuration) }

// forkPct is n's figure k, a signed fraction, as a signed whole percent.
func forkPct(n results.Note, k string) string {
	return forkFig(n, k, func(v float64) string { return fmt.Sprintf("%+.0f%%", 100*v) })
}

// forkCount is n's figure k as a whole number.
func forkCount(n results.Note, k string) string {
	return forkFig(n, k, func(v float64) string { return fmt.Sprintf("%.0f", v) })
}

// forkComponentNoteText words the notes on the components and the cost
// model.
func forkComponentNoteText(n results.Note) (string, bool) {
	switch n.Kind {
	case results.ForkNoteBudgetCut:
		return fmt.Sprintf("%s %s: stopped on its time budget after %s of %s samples.", n.Subject, detail(n, 0), forkCount(n, "samples"), forkCount(n, "want")), true
	case results.ForkNoteNoBinTrue:
		return "components/bin-true: /bin/true not found; skipped.", true
	case results.ForkNoteNoStaticNoop:
		return fmt.Sprintf("components/static-noop: not measured: %s. The OS floor is /bin/true (dynamically linked, so it includes the loader).", detail(n, 0)), true
	case results.ForkNoteNoGoEmpty:
		return fmt.Sprintf("components/go-empty: not measured: %s. runtime-init then includes the app's package initialisers (no package-init row).", detail(n, 0)), true
	case results.ForkNoteUnreaped:
		return fmt.Sprintf("components/cgi-request: the CGI host spawned %s children but reaped %s.", forkCount(n, "spawned"), forkCount(n, "reaped")), true
	case results.ForkNoteFewSizes:
		return fmt.Sprintf("model/%s: %s work size(s); a cost model needs at least %s (a line through two points fits any noise): no fit, no crossover.", n.Subject, forkCount(n, "sizes"), forkCount(n, "need")), true
	case results.ForkNoteSlopeInNoise:
		return fmt.Sprintf("model/%s: the per-round slope's 95%% interval [%s, %s] does not stand clear of zero: the work sizes do not rise above the fixed cost's noise; no fit, no crossover.", n.Subject, forkNs(n, "slope_lo_ns"), forkNs(n, "slope_hi_ns")), true
	}
	return "", false
}

// forkDecompositionNoteText words the notes on what the decomposition
// holds and whether it adds up.
func forkDecompositionNoteText(n results.Note) (string, bool) {
	switch n.Kind {
	case results.ForkNoteNegativePart:
		return fmt.Sprintf("decomposition/%s (%s): negative median (%s): the difference of two noisy medians; the component is smaller than the noise.", n.Subject, detail(n, 0), forkNs(n, "wall_ns")), true
	case results.ForkNoteInitWhole:
		return "runtime-init is everything a Go binary does before main: the runtime's start and every package initialiser linked into the app (the SQLite driver's included); without the empty Go program it cannot be split into runtime-init and package-init.", true
	case results.ForkNoteInitSplit:
		return fmt.Sprintf("runtime-init is the Go runtime's own start (an empty main, %s bytes); package-init is everything the app's dependencies add before main (%s bytes of binary): their init functions, the SQLite driver's included, and loading a larger binary. -noop cannot exit earlier, so both precede any app start-up.", forkCount(n, "go_empty_bytes"), forkCount(n, "app_bytes")), true
	case results.ForkNoteNoInitTrace:
		return "package-init: no inittrace: " + detail(n, 0), true
	case results.ForkNoteInitTrace:
		return fmt.Sprintf("package-init by GODEBUG=inittrace=1 (one run each, wall clock inside the initialisers): sampleapp -noop: %s. The empty Go program: %s. Whatever package-init holds beyond the difference is spent outside init functions: mapping and faulting in the larger binary, and the runtime's start over it.", initTraceText(n, "app"), initTraceText(n, "empty")), true
	case results.ForkNoteOrderHolds:
		held := make([]string, len(n.Detail))
		for i, name := range n.Detail {
			held[i] = name + " " + forkValue(n, i)
		}
		return fmt.Sprintf("Ordering holds (median wall): %s.", strings.Join(held, " < ")), true
	case results.ForkNoteOrderBroken:
		var broken []string
		for i := 0; i+1 < len(n.Detail); i += 2 {
			broken = append(broken, fmt.Sprintf("%s (%s) ≥ %s (%s)", n.Detail[i], forkValue(n, i), n.Detail[i+1], forkValue(n, i+1)))
		}
		return fmt.Sprintf("Ordering OS floor < Go runtime floor < app's runtime floor < app start-up < CGI request does NOT hold: %s.", strings.Join(broken, "; ")), true
	case results.ForkNoteAddsUp:
		return fmt.Sprintf("Decomposition adds up: CGI − embedded = %s, within 20%% (%s) of the start-up components' sum (%s); the remaining %s is exit+reap, the CGI gateway.", forkNs(n, "gap_ns"), forkPct(n, "rel"), startSum(n), forkNs(n, "rest_ns")), true
	case results.ForkNoteGapAbove:
		return fmt.Sprintf("Decomposition does NOT add up within 20%%: CGI − embedded = %s is %s against the start-up components' sum (%s). The extra %s is what only the CGI path does: the host builds the environment and pipes, the child runs net/http/cgi (reads its request from the environment, writes a CGI response through a pipe), the host parses that response, kills the process group and reaps; a spawn row measures none of it. On a loaded machine, more context switches per request also land here.", forkNs(n, "gap_ns"), forkPct(n, "rel"), startSum(n), forkNs(n, "rest_ns")), true
	case results.ForkNoteGapBelow:
		return fmt.Sprintf("Decomposition does NOT add up within 20%%: CGI − embedded = %s is %s against the start-up components' sum (%s): the CGI request was cheaper than start-up alone, which no mechanism explains; suspect noise (the machine was shared) or the page cache and CPU frequency changing between rows.", forkNs(n, "gap_ns"), forkPct(n, "rel"), startSum(n)), true
	case results.ForkNoteCPUGap:
		return fmt.Sprintf("In CPU time (user+sys medians, less disturbed by a shared machine): CGI child %s − embedded %s = %s against startup-only %s (%s).", forkNs(n, "cgi_cpu_ns"), forkNs(n, "embedded_cpu_ns"), forkNs(n, "gap_ns"), forkNs(n, "startup_cpu_ns"), forkPct(n, "rel")), true
	}
	return "", false
}

// forkFactorNoteText words the notes on the factors and the daemon.
func forkFactorNoteText(n results.Note) (string, bool) {
	switch n.Kind {
	case results.ForkNoteFactorBudgetCut:
		return fmt.Sprintf("factors/%s: stopped on its time budget after %s of %s interleaved rounds.", n.Subject, forkCount(n, "rounds"), forkCount(n, "want")), true
	case results.ForkNoteNoVariants:
		if len(n.Detail) == 0 {
			return "factors/binary: variant builds skipped (--quick or SkipBuilds); no binary-size or linkage rows.", true
		}
		return "factors/binary: variants not built: " + detail(n, 0), true
	case results.ForkNoteNoPadded:
		if len(n.Detail) == 0 {
			return "factors/package-init: padded build skipped (--quick or SkipBuilds); no package-init rows.", true
		}
		return "factors/package-init: padded program not built: " + detail(n, 0), true
	case results.ForkNoteNotMeasured:
		return n.Subject + ": not measured: " + detail(n, 0), true
	case results.ForkNoteNoEmptyForPadding:
		return "factors/package-init: no empty Go program (see components/go-empty); not measured.", true
	case results.ForkNoteAppNotLarger:
		return fmt.Sprintf("factors/package-init: the app (%s bytes) is no larger than the empty Go program (%s bytes); no padded arm.", forkCount(n, "app_bytes"), forkCount(n, "empty_bytes")), true
	case results.ForkNotePackageInitSplit:
		return fmt.Sprintf("factors/package-init: of sampleapp -noop − go-empty = %s (interleaved medians), a file of the same size alone accounts for %s (padded − empty); the other %s is the app's packages: their init functions and the pages of their code and data touched before main.", forkNs(n, "init_ns"), forkNs(n, "file_ns"), forkNs(n, "packages_ns")), true
	case results.ForkNoteArmRatio:
		return fmt.Sprintf("factors/%s: %s: median %s vs %s for %s (%s).", n.Subject, detail(n, 0), forkNs(n, "wall_ns"), forkNs(n, "base_ns"), detail(n, 1), forkPct(n, "rel")), true
	case results.ForkNoteDaemon:
		return fmt.Sprintf("daemon: cold start median %s; first request %s vs %s in steady state (%s×).", forkNs(n, "cold_ns"), forkNs(n, "first_ns"), forkNs(n, "steady_ns"),
			forkFig(n, "ratio", func(v float64) string { return fmt.Sprintf("%.1f", v) })), true
	}
	return "", false
}

// forkValue is n's i-th value as a duration, "" when it has none.
func forkValue(n results.Note, i int) string {
	if i < len(n.Values) {
		return units.FixedDuration(n.Values[i])
	}
	return ""
}

// startSum is the start-up parts a decomposition note names, summed:
// "os-spawn + runtime-init + app-init = 25.00ms".
func startSum(n results.Note) string {
	return strings.Join(n.Detail, " + ") + " = " + forkNs(n, "start_ns")
}

// initTraceText is one program's inittrace summary in a ForkNoteInitTrace
// (prog "app" or "empty"): its initialisers, their total time and, for
// the app, the largest origins.
func initTraceText(n results.Note, prog string) string {
	s := fmt.Sprintf("%s initialisers, %s in total", forkCount(n, prog+"_inits"), forkNs(n, prog+"_ns"))
	if prog != "app" || len(n.Detail) == 0 {
		return s
	}
	big := make([]string, len(n.Detail))
	for i, name := range n.Detail {
		var clock, pkgs float64
		if 2*i+1 < len(n.Values) {
			clock, pkgs = n.Values[2*i], n.Values[2*i+1]
		}
		big[i] = fmt.Sprintf("%s %s (%.0f packages)", name, units.FixedDuration(clock), pkgs)
	}
	return s + "; by origin: " + strings.Join(big, ", ")
}
