package compat

import (
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// FuzzCJSONDecode checks that decoding never panics and that whatever
// decodes re-encodes to text that decodes and encodes to the same text.
func FuzzCJSONDecode(f *testing.F) {
	for _, s := range []string{`[1,2,{"a":null}]`, `{"k":"\u20ac\ud83d\ude00"}`, `-1.5e-3`, `"\/\b"`, `[[[]]]`, `{"a":[true,false]}`, `NaN`, `[`} {
		f.Add(s)
	}
	L := lua.NewState()
	defer L.Close()
	cfg := newCJSONConfig(L, false)
	cfg.encodeInvalid = 1
	f.Fuzz(func(t *testing.T, s string) {
		v, err := cfg.decode(L, s)
		if err != nil {
			return
		}
		cfg.sparseConvert = true
		var b1 strings.Builder
		if err := cfg.encode(&b1, v, 0); err != nil {
			t.Fatalf("encode(decode(%q)): %v", s, err)
		}
		v2, err := cfg.decode(L, b1.String())
		if err != nil {
			t.Fatalf("decode(%q) (from %q): %v", b1.String(), s, err)
		}
		var b2 strings.Builder
		if err := cfg.encode(&b2, v2, 0); err != nil {
			t.Fatal(err)
		}
		if len(b1.String()) != len(b2.String()) {
			t.Fatalf("round trip of %q: %q then %q", s, b1.String(), b2.String())
		}
	})
}
