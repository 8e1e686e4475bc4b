package testbin

import (
	"os"
	"testing"
)

// Strict reports whether tests run in strict mode: FORKBENCH_STRICT=1, or
// CI=true. There a test that needs a tool the machine lacks (wrk,
// chromium) fails instead of skipping, so CI cannot pass by skipping.
func Strict() bool {
	return os.Getenv("FORKBENCH_STRICT") == "1" || os.Getenv("CI") == "true"
}

// Missing ends a test that cannot run because a tool is missing: a skip,
// or a failure in strict mode. why names the tool and how to install it.
func Missing(t testing.TB, why string) {
	t.Helper()
	if Strict() {
		t.Fatalf("strict mode (FORKBENCH_STRICT=1 or CI=true): %s", why)
	}
	t.Skip(why)
}
