//go:build !linux

package gateway

// stdinListening is false where SO_ACCEPTCONN cannot be asked for: such a
// program is told its mode by Config instead.
func stdinListening() bool { return false }
