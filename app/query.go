package app

import (
	"net/url"
	"strings"
)

// queryValue returns the first value of key in the raw query string, as
// url.ParseQuery followed by Values.Get would, without building the map: the
// endpoints read one or two parameters, and a map per request is the largest
// allocation of the small ones. ok reports whether key is present at all.
func queryValue(raw, key string) (val string, ok bool, err error) {
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(pair, "=")
		if k != key {
			if !strings.ContainsAny(k, "%+") {
				continue
			}
			if uk, err := url.QueryUnescape(k); err != nil || uk != key {
				continue
			}
		}
		if strings.ContainsAny(v, "%+") {
			if v, err = url.QueryUnescape(v); err != nil {
				return "", true, err
			}
		}
		return v, true, nil
	}
	return "", false, nil
}
