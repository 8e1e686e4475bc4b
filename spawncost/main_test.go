package spawncost

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"

	"forkbench/internal/testbin"
)

// probeEnv marks a re-executed test binary as the parent-size probe child,
// the way net/http/cgi's tests re-run themselves as the CGI child.
const probeEnv = "FORKBENCH_FORK_TEST_PROBE"

// bins are the suite's real binaries, set once by TestMain.
var bins testbin.Paths

func TestMain(m *testing.M) {
	if os.Getenv(probeEnv) == "1" {
		os.Exit(probeChild(os.Args[1:]))
	}
	testbin.MainInTempDir(m, "forkbench-fork-test-", func(dir string) (err error) {
		bins, err = testbin.Build(dir)
		return err
	})
}

// probeChild is the test binary as the parent-size probe: it parses the
// flags Measure re-executes it with, as cmd/bench does, and runs Probe.
func probeChild(args []string) int {
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	var p ProbeConfig
	fs.Int64Var(&p.HeapBytes, ProbeHeapFlag, -1, "")
	fs.StringVar(&p.Exe, ProbeExeFlag, "", "")
	fs.IntVar(&p.Reps, ProbeRepsFlag, 0, "")
	fs.IntVar(&p.Warm, ProbeWarmupFlag, 0, "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := Probe(context.Background(), p, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
