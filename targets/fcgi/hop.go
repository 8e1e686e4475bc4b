package fcgi

// This file holds what the front does as an HTTP proxy (RFC 9110 §7.6.1):
// hop-by-hop header fields concern one connection and go no further, in
// either direction, and conflicting framing from the application is
// refused rather than relayed.

import (
	"fmt"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"

	"forkbench/internal/gateway"
)

// hopHeaders are the hop-by-hop fields of RFC 9110 §7.6.1 plus those
// httputil.ReverseProxy also drops (Keep-Alive, Proxy-Connection and the
// proxy authentication pair, which are addressed to a proxy, never to the
// application behind it).
var hopHeaders = [...]string{
	"Connection",
	"Keep-Alive",
	"Proxy-Authenticate",
	"Proxy-Authorization",
	"Proxy-Connection",
	"Te",
	"Trailer",
	"Transfer-Encoding",
	"Upgrade",
}

// hasHop reports whether h holds a hop-by-hop field.
func hasHop(h http.Header) bool {
	for _, k := range hopHeaders {
		if _, ok := h[k]; ok {
			return true
		}
	}
	return false
}

// removeHop deletes the hop-by-hop fields from h, with those Connection
// names.
func removeHop(h http.Header) {
	for _, v := range h["Connection"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = textproto.TrimString(name); name != "" {
				h.Del(name)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// params builds the request's parameters: gateway.Env of the request seen
// without its hop-by-hop fields, then p.Params, each replacing a
// meta-variable of the same name so the daemon sees one value only.
func (p *Proxy) params(r *http.Request) []string {
	if hasHop(r.Header) {
		r2 := new(http.Request)
		*r2 = *r
		r2.Header = r.Header.Clone()
		removeHop(r2.Header)
		r = r2
	}
	env := gateway.Env(r, p.Gateway)
	for _, kv := range p.Params {
		name, _, _ := strings.Cut(kv, "=")
		replaced := false
		for i, e := range env {
			if len(e) > len(name) && e[len(name)] == '=' && e[:len(name)] == name {
				env[i], replaced = kv, true
				break
			}
		}
		if !replaced {
			env = append(env, kv)
		}
	}
	return env
}

// ParseParam checks a "NAME=VALUE" parameter as given on a command line:
// a non-empty name without '=' or NUL, a value without NUL (FastCGI could
// carry NUL, but no daemon that hands parameters to C code can).
func ParseParam(kv string) (name, value string, err error) {
	name, value, ok := strings.Cut(kv, "=")
	switch {
	case !ok || name == "":
		return "", "", fmt.Errorf("fcgi: parameter %q: want NAME=VALUE", kv)
	case strings.ContainsRune(kv, 0):
		return "", "", fmt.Errorf("fcgi: parameter %q: NUL byte", kv)
	}
	return name, value, nil
}

// copyHeader copies the application's header fields to dst, without the
// hop-by-hop ones, and refuses conflicting framing: more than one
// Content-Length, or one that is not a decimal length (RFC 9110 §8.6), is
// an error the front answers with 502.
func copyHeader(dst, src http.Header) error {
	if cl := src["Content-Length"]; len(cl) > 0 {
		if len(cl) > 1 {
			return fmt.Errorf("%w: %d Content-Length fields", gateway.ErrMalformedHeader, len(cl))
		}
		if n, err := strconv.ParseUint(cl[0], 10, 63); err != nil || strconv.FormatUint(n, 10) != cl[0] {
			return fmt.Errorf("%w: Content-Length %q", gateway.ErrMalformedHeader, cl[0])
		}
	}
	hop := hasHop(src)
	for k, vv := range src {
		dst[k] = vv
	}
	if hop {
		removeHop(dst)
	}
	return nil
}
