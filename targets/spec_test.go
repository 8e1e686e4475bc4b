package targets

import (
	"errors"
	"reflect"
	"testing"
)

func knownNames(n string) bool {
	switch n {
	case "embedded", "cgi", "fcgi", "nginx-fcgi":
		return true
	}
	return false
}

func TestParseSpecs(t *testing.T) {
	tests := []struct {
		in   string
		want []Spec
	}{
		{"embedded,cgi", []Spec{
			{Label: "embedded", Text: "embedded", Kind: SpecNamed, Name: "embedded"},
			{Label: "cgi", Text: "cgi", Kind: SpecNamed, Name: "cgi"},
		}},
		{"cgi:./guestbook.cgi", []Spec{{Label: "cgi-guestbook", Text: "cgi:./guestbook.cgi", Kind: SpecCGI, Path: "./guestbook.cgi"}}},
		{"gb=cgi:'/srv/my app/gb.cgi'", []Spec{{Label: "gb", Text: "gb=cgi:'/srv/my app/gb.cgi'", Kind: SpecCGI, Path: "/srv/my app/gb.cgi"}}},
		{"fcgi-cmd:'php-fpm8.2 -F -y /tmp/fpm.conf'@unix:/tmp/fpm.sock,url:http://127.0.0.1:8080", []Spec{
			{Label: "fcgi-php-fpm8.2", Text: "fcgi-cmd:'php-fpm8.2 -F -y /tmp/fpm.conf'@unix:/tmp/fpm.sock", Kind: SpecFCGICommand, Argv: []string{"php-fpm8.2", "-F", "-y", "/tmp/fpm.conf"}, Addr: "unix:/tmp/fpm.sock"},
			{Label: "url-127.0.0.1-8080", Text: "url:http://127.0.0.1:8080", Kind: SpecURL, URL: "http://127.0.0.1:8080"},
		}},
		{`fcgi-cmd:"uwsgi --ini 'a b.ini'"`, []Spec{{Label: "fcgi-uwsgi", Text: `fcgi-cmd:"uwsgi --ini 'a b.ini'"`, Kind: SpecFCGICommand, Argv: []string{"uwsgi", "--ini", "a b.ini"}}}},
		{"php=fcgi-addr:unix:/run/php/php-fpm.sock, nginx-fcgi", []Spec{
			{Label: "php", Text: "php=fcgi-addr:unix:/run/php/php-fpm.sock", Kind: SpecFCGIAddr, Addr: "unix:/run/php/php-fpm.sock"},
			{Label: "nginx-fcgi", Text: "nginx-fcgi", Kind: SpecNamed, Name: "nginx-fcgi"},
		}},
		{"fcgi-addr:tcp:127.0.0.1:9000", []Spec{{Label: "fcgi-127.0.0.1-9000", Text: "fcgi-addr:tcp:127.0.0.1:9000", Kind: SpecFCGIAddr, Addr: "tcp:127.0.0.1:9000"}}},
		{"url:http://127.0.0.1:8080/x?a=b", []Spec{{Label: "url-127.0.0.1-8080", Text: "url:http://127.0.0.1:8080/x?a=b", Kind: SpecURL, URL: "http://127.0.0.1:8080/x?a=b"}}},
	}
	for _, tt := range tests {
		got, err := ParseSpecs(tt.in, knownNames)
		if err != nil {
			t.Errorf("ParseSpecs(%q): %v", tt.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSpecs(%q) =\n %+v\nwant\n %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseSpecsErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"nosuch",
		"cgi:",
		"ftp:x",
		"cgi:a.cgi,cgi:b/a.cgi", // same derived label
		"x y=cgi:a",
		"fcgi-cmd:'php-fpm",
		"embedded,embedded",
	} {
		if _, err := ParseSpecs(in, knownNames); !errors.Is(err, ErrSpec) {
			t.Errorf("ParseSpecs(%q) error = %v; want ErrSpec", in, err)
		}
	}
}
