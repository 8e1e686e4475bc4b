package compare

import (
	"testing"

	"forkbench/internal/testbin"
)

// Test helpers for the external test package (compare_test), which
// renders comparisons through reports.
var Synth = synth

// Golden checks got against the golden file at path (rewriting it under
// -update).
func Golden(t *testing.T, path string, got []byte) { t.Helper(); testbin.Golden(t, path, got, *update) }
