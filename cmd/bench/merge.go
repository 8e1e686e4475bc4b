package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"forkbench/results"
)

// mergeCmd implements `bench merge a.json b.json …`: it merges the result
// files of the shards of one run (results.MergeShards) and writes the
// merged file to stdout, or atomically to -o.
func mergeCmd(_ context.Context, fs *flag.FlagSet, args []string, stdout, _ io.Writer) error {
	out := fs.String("o", "", "write the merged file here instead of stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("merge: give the shards' result files")
	}
	var in []results.Named
	for _, path := range fs.Args() {
		f, err := results.Read(path)
		if err != nil {
			return err
		}
		in = append(in, results.Named{Name: path, File: f})
	}
	m, err := results.MergeShards(in)
	if err != nil {
		return err
	}
	if *out != "" {
		return results.Write(*out, m)
	}
	return results.Encode(stdout, m)
}
