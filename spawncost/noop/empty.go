//go:build ignore

// empty is the smallest Go program: built by forkbench/spawncost at run time
// with CGO_ENABLED=0 -trimpath, it measures what the Go runtime alone adds
// to a spawn (its start-up and the few standard packages it initialises),
// with none of the sample app's dependencies and their package
// initialisers. The ignore constraint keeps it out of the module's build;
// fork builds it as a single file.
package main

func main() {}
