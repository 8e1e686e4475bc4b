package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"forkbench/agent"
)

// agentCmd implements `bench agent`: it serves the cost of one target's
// processes on this host (see package agent) until SIGINT/SIGTERM,
// printing "listening on URL" as the first line of stdout.
func agentCmd(ctx context.Context, fs *flag.FlagSet, args []string, stdout, stderr io.Writer) error {
	listen := fs.String("listen", "127.0.0.1:7071", "address to listen on; beyond loopback a token is required")
	var sel agent.Selector
	fs.IntVar(&sel.PID, "pid", 0, "root pid of the target's process tree")
	fs.StringVar(&sel.Pattern, "pattern", "", "regular expression matched against process names (/proc/PID/comm)")
	fs.StringVar(&sel.Cgroup, "cgroup", "", "cgroup of the target (as in /proc/PID/cgroup, or a /sys/fs/cgroup path)")
	tokenFile := fs.String("token-file", "", "file holding the shared bearer token (default: $"+agent.TokenEnv+")")
	if err := noArgs(fs, args); err != nil {
		return err
	}
	token := os.Getenv(agent.TokenEnv)
	if *tokenFile != "" {
		data, err := os.ReadFile(*tokenFile)
		if err != nil {
			return fmt.Errorf("agent: --token-file: %w", err)
		}
		token = strings.TrimSpace(string(data))
	}
	if err := agent.CheckListen(*listen, token); err != nil {
		return err
	}
	srv, err := agent.New(ctx, agent.Config{Target: sel, Token: token})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	if _, err := fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr()); err != nil {
		_ = ln.Close()
		return fmt.Errorf("agent: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return fmt.Errorf("agent: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("agent: %w", err)
	}
	_ = hs.Close() // windows still being measured end with the agent
	return nil
}
