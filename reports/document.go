package reports

// This file writes the two documents of a report: report.md (Markdown,
// tables by tablewriter) and report.html (one self-contained file: inline
// SVG charts, inline CSS, no script and nothing fetched).

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"strings"

	"forkbench/results"
)

// docTitle is the report's title, with the file's label when there is one
// file and it has a label.
func docTitle(s *Summary) string {
	t := "forkbench report"
	if len(s.Files) == 1 && s.Files[0].Label != "" {
		t += ": " + s.Files[0].Label
	} else if len(s.Files) > 1 {
		t += ": " + strings.Join(s.Labels, " vs ")
	}
	return t
}

// WriteMarkdown writes report.md: title, headline, machine and settings,
// notes, and every table, each saying which load model its figures came
// from.
func WriteMarkdown(w io.Writer, files []*results.File) error {
	return writeMarkdown(w, Summarize(files), nil)
}

// chartLink is a chart as report.md links it.
type chartLink struct{ Title, Path string }

func writeMarkdown(w io.Writer, s *Summary, links []chartLink) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "# %s\n\n", mdEscape(docTitle(s)))
	for fi := range s.Files {
		if p := partialNote(s, fi); p != "" {
			fmt.Fprintf(ew, "> **%s**\n\n", p)
		}
	}
	fmt.Fprintf(ew, "**%s**\n\n", headline(s))
	fmt.Fprintf(ew, "## Machine and settings\n\n")
	for fi, f := range s.Files {
		if len(s.Files) > 1 {
			fmt.Fprintf(ew, "### %s\n\n", s.Labels[fi])
		}
		for _, e := range append(machine(f), settings(f)...) {
			fmt.Fprintf(ew, "- **%s**: %s\n", e.Key, e.Value)
		}
		fmt.Fprintln(ew)
	}
	if ns := notes(s); len(ns) > 0 {
		fmt.Fprintf(ew, "## Notes\n\n")
		for _, n := range ns {
			fmt.Fprintf(ew, "- %s\n", n)
		}
		fmt.Fprintln(ew)
	}
	fmt.Fprintf(ew, "## Results\n\n")
	if err := writeTables(ew, tables(s), StyleMarkdown, "**%s**\n\n"); err != nil {
		return err
	}
	if len(links) > 0 {
		fmt.Fprintf(ew, "## Charts\n\n")
		for _, l := range links {
			fmt.Fprintf(ew, "![%s](%s)\n\n", l.Title, l.Path)
		}
	}
	return ew.err
}

// htmlTable is a table as the HTML template draws it.
type htmlTable struct {
	Title  string
	Header []htmlCell
	Rows   [][]htmlCell
}

type htmlCell struct {
	Text  string
	Right bool
}

// htmlChart is a chart inlined in report.html.
type htmlChart struct {
	Name, Title string
	SVG         template.HTML // our own vgsvg output, minus its XML prolog
}

// htmlPage is the data of the report.html template.
type htmlPage struct {
	Title    string
	Partial  []string
	Headline string
	Machines []htmlMachine
	Notes    []string
	Tables   []htmlTable
	Charts   []htmlChart
}

type htmlMachine struct {
	Label string
	Lines []kv
}

// htmlTemplate lays the page out as a reader goes through it: what was
// found (headline), on what (machine and settings), the evidence (charts,
// then tables to quote), and what to read with care (notes, pointed to
// from the top so they are not missed).
const htmlTemplate = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: sans-serif; margin: 2em auto; max-width: 1200px; color: #222; padding: 0 1em; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: .4em; }
h2 { font-size: 1.3em; border-bottom: 1px solid #ddd; padding-bottom: .2em; margin-top: 1.8em; }
.headline { font-size: 1.25em; font-weight: bold; background: #f3f6fa; border-left: 4px solid #1f77b4; padding: .6em .9em; margin: .8em 0 .4em; }
.partial { font-size: 1.2em; font-weight: bold; color: #8a1010; background: #fde8e8; border: 2px solid #d62728; padding: .6em .9em; }
.pointer { margin: 0 0 1em; color: #555; }
.pointer a { color: #8a5a00; font-weight: bold; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: .3em 0 1.5em; font-size: .8em; }
th, td { border: 1px solid #ccc; padding: .2em .4em; white-space: nowrap; }
th { background: #f0f0f0; }
tbody tr:nth-child(even) { background: #fafafa; }
td.r, th.r { text-align: right; font-variant-numeric: tabular-nums; }
.caption { font-weight: bold; margin: 1.2em 0 0; }
dl { display: grid; grid-template-columns: max-content minmax(0, 1fr) max-content minmax(0, 1fr); gap: .15em 1em; font-size: .9em; }
dt { font-weight: bold; }
dd { margin: 0; overflow-wrap: anywhere; }
figure { margin: 1em 0 2em; }
figure svg { display: block; max-width: 100%; height: auto; }
ul.notes li { margin: .3em 0; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{range .Partial}}<p class="partial">{{.}}</p>
{{end}}<p class="headline">{{.Headline}}</p>
{{if .Notes}}<p class="pointer"><a href="#notes">{{len .Notes}} note{{if gt (len .Notes) 1}}s{{end}}</a> at the end of this page say which figures to read with care.</p>
{{end}}<h2>Machine and settings</h2>
{{range .Machines}}{{if .Label}}<h3>{{.Label}}</h3>
{{end}}<dl>
{{range .Lines}}<dt>{{.Key}}</dt><dd>{{.Value}}</dd>
{{end}}</dl>
{{end}}{{if .Charts}}<h2>Charts</h2>
{{range .Charts}}<figure id="{{.Name}}" aria-label="{{.Title}}">
{{.SVG}}
</figure>
{{end}}{{end}}<h2>Tables</h2>
{{range .Tables}}<p class="caption">{{.Title}}</p>
<div class="scroll"><table>
<thead><tr>{{range .Header}}<th{{if .Right}} class="r"{{end}}>{{.Text}}</th>{{end}}</tr></thead>
<tbody>
{{range .Rows}}<tr>{{range .}}<td{{if .Right}} class="r"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</tbody>
</table></div>
{{end}}{{if .Notes}}<h2 id="notes">Notes</h2>
<ul class="notes">
{{range .Notes}}<li>{{.}}</li>
{{end}}</ul>
{{end}}</body>
</html>
`

// inlineSVG strips the XML prolog and comment vgsvg writes before <svg,
// which are not allowed inside an HTML body.
func inlineSVG(b []byte) template.HTML {
	if i := bytes.Index(b, []byte("<svg")); i >= 0 {
		b = b[i:]
	}
	return template.HTML(b) // generated by vgsvg from our own plot; text in it is escaped by vgsvg
}

func writeHTML(w io.Writer, s *Summary, svgs []htmlChart) error {
	tpl, err := template.New("report").Parse(htmlTemplate)
	if err != nil {
		return fmt.Errorf("reports: html template: %w", err)
	}
	page := htmlPage{Title: docTitle(s), Headline: headline(s), Notes: notes(s), Charts: svgs}
	for fi, f := range s.Files {
		if p := partialNote(s, fi); p != "" {
			page.Partial = append(page.Partial, p)
		}
		m := htmlMachine{Lines: append(machine(f), settings(f)...)}
		if len(s.Files) > 1 {
			m.Label = s.Labels[fi]
		}
		page.Machines = append(page.Machines, m)
	}
	for _, t := range tables(s) {
		ht := htmlTable{Title: t.Title}
		for i, h := range t.Header {
			ht.Header = append(ht.Header, htmlCell{h, t.Right[i]})
		}
		for _, row := range t.Rows {
			var cells []htmlCell
			for i, c := range row {
				cells = append(cells, htmlCell{c, t.Right[i]})
			}
			ht.Rows = append(ht.Rows, cells)
		}
		page.Tables = append(page.Tables, ht)
	}
	if err := tpl.Execute(w, page); err != nil {
		return fmt.Errorf("reports: html: %w", err)
	}
	return nil
}
