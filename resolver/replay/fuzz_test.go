package replay

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ljdns/dnsmsg"
)

// FuzzParse feeds arbitrary text to the parser, the config mapping and
// the matcher: errors are fine, panics are not. testdata/fuzz/FuzzParse
// holds the seed corpus.
func FuzzParse(f *testing.F) {
	if b, err := os.ReadFile("testdata/stub.rpl"); err == nil {
		f.Add(string(b))
	}
	files, _ := filepath.Glob("testdata/*.rpl")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(string(b))
		}
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := Parse("f.rpl", strings.NewReader(text))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.rpl:") {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		MapConfig(s, time.Unix(0, 0))
		q := dnsmsg.NewPacket(512)
		q.SetQuestion([]byte("\x07example\x00"), 1, 1)
		for _, rg := range s.Ranges {
			for _, e := range rg.Entries {
				e.Compare(q)
				qm := packetMessage(q)
				replyWire(e, q, qm, false)
			}
		}
		for _, st := range s.Steps {
			if st.Entry != nil {
				st.Entry.Compare(q)
			}
		}
	})
}
