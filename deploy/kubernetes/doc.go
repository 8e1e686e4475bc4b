// Package kubernetes holds no code: its directory holds the manifests
// that run forkbench beyond one machine on a Kubernetes cluster (README.md),
// and its test is their schema check — kubectl's client-side dry run needs
// a cluster to ask for the schemas, so the test parses the YAML and checks
// the fields a cluster would refuse without, and the wiring between the
// manifests and bench's flags.
package kubernetes
