package catalog

import (
	"log"

	"forkbench/targets"
	"forkbench/targets/fronts"
)

// newFront returns the constructor of a targets/fronts deployment (a real
// front such as Apache or nginx, or the Python twin), which reads the
// options it shares with the Go trio.
func newFront(kind string) func(o Options, errLog *log.Logger) (targets.Target, error) {
	return func(o Options, errLog *log.Logger) (targets.Target, error) {
		return fronts.New(kind, fronts.Config{
			AppBin:   o.AppBin,
			DBPath:   o.DBPath(),
			Listen:   o.Listen,
			LogDir:   o.LogDir,
			ErrorLog: errLog,
		})
	}
}
