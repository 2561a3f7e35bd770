package replay

import (
	_ "embed"
	"strings"
)

//go:embed skip.txt
var skipText string

// SkipList returns the scenarios not supported (file base name -> reason),
// read from skip.txt: one "name.rpl reason..." a line, '#' comments.
func SkipList() map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(skipText, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		name, why, _ := strings.Cut(line, " ")
		m[name] = strings.TrimSpace(why)
	}
	return m
}
