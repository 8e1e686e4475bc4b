package fork

import (
	"context"
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
		args := os.Args[1:]
		if len(args) > 0 && args[0] == "fork" {
			args = args[1:]
		}
		if err := Run(context.Background(), args, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "forkbench-fork-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins, err = testbin.Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
