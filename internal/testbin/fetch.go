package testbin

import (
	"context"
	"io"
	"net/http"
	"testing"
)

// Response is what a test's request got back, the body read in full.
type Response struct {
	Status int // 0: not even a head arrived
	Header http.Header
	Body   string
}

// Fetch sends method url with body and hdr by client (nil means
// http.DefaultClient) and reads the whole answer. It returns what was read
// of the body and the error that ended it, or status 0 and the error if
// not even the head arrived, so that a test can look at a response that
// was broken off as well as at one that was not. An error building the
// request ends the test.
func Fetch(t testing.TB, ctx context.Context, client *http.Client, method, url string, body io.Reader, hdr http.Header) (Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, vv := range hdr {
		req.Header[k] = vv
	}
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return Response{}, err // status 0: not even a head
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return Response{resp.StatusCode, resp.Header, string(b)}, err
}
