package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"forkbench/agent"
	"forkbench/runner"
	"forkbench/scenario"
	"forkbench/targets/catalog"
)

// beyondFlags are `bench run`'s flags for going beyond one machine:
// remote targets, a server-side agent, sharded generators.
type beyondFlags struct {
	shard, startAt, agent, tokenFile string
	allowRemote                      bool
}

func (b *beyondFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&b.shard, "shard", "", "INDEX/COUNT: this generator is shard INDEX (0-based) of COUNT sharing the load: 1/COUNT of the rate and connections")
	fs.StringVar(&b.startAt, "start-at", "", "RFC 3339 time at which the first load point starts (shards agree on it), e.g. 2026-12-02T10:00:00Z")
	fs.StringVar(&b.agent, "agent", "", "URL of the agent (bench agent) beside the --url target: server CPU, memory and spawns are read through it")
	fs.StringVar(&b.tokenFile, "agent-token-file", "", "file holding the agent's shared token (default: $"+agent.TokenEnv+")")
	fs.BoolVar(&b.allowRemote, "allow-remote", false, "accept a --url that is not on this machine's loopback (load is sent to another machine)")
}

// apply checks the flags and sets them in cfg and opts.
func (b *beyondFlags) apply(cfg *runner.Config, opts *catalog.Options) error {
	if b.shard != "" {
		sh, err := scenario.ParseShard(b.shard)
		if err != nil {
			return fmt.Errorf("run: --shard: %w", err)
		}
		cfg.Shard = sh
	}
	if b.startAt != "" {
		t, err := time.Parse(time.RFC3339Nano, b.startAt)
		if err != nil {
			return fmt.Errorf("run: --start-at: cannot parse %q as an RFC 3339 time (e.g. 2026-12-02T10:00:00Z)", b.startAt)
		}
		cfg.StartAt = t
	}
	opts.AllowRemote, cfg.AllowRemote = b.allowRemote, b.allowRemote
	cfg.Agent = b.agent
	cfg.AgentToken = os.Getenv(agent.TokenEnv)
	if b.tokenFile != "" {
		data, err := os.ReadFile(b.tokenFile)
		if err != nil {
			return fmt.Errorf("run: --agent-token-file: %w", err)
		}
		cfg.AgentToken = strings.TrimSpace(string(data))
	}
	return nil
}
