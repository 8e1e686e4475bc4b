package scenario

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestReadRequests(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "post.txt"), []byte("name=ann&msg=hi"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `# a guestbook
# name: list
GET /guestbook?page=1
Accept: text/html

POST http://example.invalid/guestbook
content-type: application/x-www-form-urlencoded
@post.txt

GET /
`
	path := filepath.Join(dir, "reads.txt")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadRequests(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Endpoint{
		{Name: "list", Method: "GET", Path: "/guestbook?page=1", Header: http.Header{"Accept": {"text/html"}}},
		{Name: "POST /guestbook", Method: "POST", Path: "/guestbook", Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: []byte("name=ann&msg=hi")},
		{Name: "GET /", Method: "GET", Path: "/"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadRequests =\n %+v\nwant\n %+v", got, want)
	}
}

func TestParseRequestsErrors(t *testing.T) {
	for _, src := range []string{
		"",
		"# only a comment\n",
		"get /x\n",
		"GET\n",
		"GET ftp://x/y\n",
		"GET x/y\n",
		"GET /x\nnot a header\n",
		"GET /x\n@missing.txt\n",
		"GET /x\n\nGET /x\n",
	} {
		if _, err := ParseRequests([]byte(src), t.TempDir(), "t.txt"); !errors.Is(err, ErrBadRequests) {
			t.Errorf("ParseRequests(%q) error = %v; want ErrBadRequests", src, err)
		}
	}
}
