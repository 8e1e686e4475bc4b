package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"forkbench/results"
)

// DefaultClockSamples is the number of clock exchanges Client.Clock makes
// when asked for none: the shortest round trip of eight bounds the
// offset within a few tens of microseconds on a LAN.
const DefaultClockSamples = 8

// Client talks to an agent; it is what `bench run --agent` uses.
type Client struct {
	// URL is the agent's base URL, "http://HOST:PORT".
	URL string
	// Token is sent as a bearer token when not empty.
	Token string
	// HTTP is the client used; nil means one with no overall timeout
	// (a window request lasts as long as the window).
	HTTP *http.Client
}

// NewClient checks base and returns a client for it.
func NewClient(base, token string) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("agent: bad agent URL %q: want http://HOST:PORT", base)
	}
	return &Client{URL: strings.TrimRight(base, "/"), Token: token}, nil
}

func (c *Client) http() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return http.DefaultClient
}

// get sends GET path and decodes a 200 reply into v; any other status is
// an error carrying the agent's message.
func (c *Client) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL+path, nil)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("agent: %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorReply
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("%w: %s (%s)", ErrAgent, e.Error, resp.Status)
		}
		return fmt.Errorf("%w: %s: %s", ErrAgent, path, resp.Status)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("agent: %s: %w", path, err)
	}
	return nil
}

// ErrAgent is wrapped by errors the agent itself returned.
var ErrAgent = errors.New("agent refused")

// Info returns the target's description and the agent host's facts.
func (c *Client) Info(ctx context.Context) (Info, error) {
	var i Info
	return i, c.get(ctx, "/v1/info", &i)
}

// Clock measures the agent's clock offset from this host's with n
// NTP-style exchanges (DefaultClockSamples if n <= 0) and keeps the one
// with the shortest round trip. A positive offset means the agent's clock
// is ahead: agent time = local time + offset.
func (c *Client) Clock(ctx context.Context, n int) (results.ClockOffset, error) {
	if n <= 0 {
		n = DefaultClockSamples
	}
	best := results.ClockOffset{RTTNs: -1, MeasuredAt: time.Now().UTC()}
	for range n {
		t1 := time.Now()
		var r ClockReply
		if err := c.get(ctx, "/v1/clock", &r); err != nil {
			return results.ClockOffset{}, err
		}
		t4 := time.Now()
		offset, rtt := ntpOffset(t1.UnixNano(), r.ReceiveNs, r.TransmitNs, t4.UnixNano())
		if best.RTTNs < 0 || rtt < best.RTTNs {
			best.OffsetNs, best.RTTNs = offset, rtt
		}
		best.Samples++
	}
	return best, nil
}

// ntpOffset is the offset of the server's clock and the round trip of one
// exchange: t1 client send, t2 server receive, t3 server send, t4 client
// receive (RFC 5905, section 8).
func ntpOffset(t1, t2, t3, t4 int64) (offset, rtt int64) {
	return ((t2 - t1) + (t3 - t4)) / 2, (t4 - t1) - (t3 - t2)
}

// Window asks for the cost over [start, end], both on the agent's clock,
// and blocks until the agent has measured it (shortly after end). It must
// be called before start.
func (c *Client) Window(ctx context.Context, start, end time.Time) (Cost, error) {
	var cost Cost
	q := "/v1/window?start=" + strconv.FormatInt(start.UnixNano(), 10) + "&end=" + strconv.FormatInt(end.UnixNano(), 10)
	return cost, c.get(ctx, q, &cost)
}
