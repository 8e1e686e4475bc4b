package compare

// Test helpers for the external test package (compare_test), which
// renders comparisons through reports.
var (
	Synth  = synth
	Golden = golden
)
