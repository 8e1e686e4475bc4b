package catalog

import (
	"slices"

	"forkbench/targets"
	"forkbench/targets/fronts"
)

// Known reports whether kind names a deployment New builds: the Go trio,
// "external", or a real front or Python twin of targets/fronts (outside
// Kinds, so the default run stays the Go trio).
func Known(kind string) bool {
	return kind == "external" || slices.Contains(kinds, kind) || fronts.Known(kind)
}

// newFront builds a targets/fronts deployment from the options it reads.
func newFront(kind string, o Options) (targets.Target, error) {
	return fronts.New(kind, fronts.Config{
		AppBin:   o.AppBin,
		DBPath:   o.DBPath(),
		Listen:   o.Listen,
		ErrorLog: o.ErrorLog,
	})
}
