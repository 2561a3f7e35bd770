package compat

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// benchJSON is a ~20 KB document of records like a zone dump.
var benchJSON = func() string {
	var b strings.Builder
	b.WriteString(`{"zone":"example.org","records":[`)
	for i := 0; i < 200; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"owner":"host%d.example.org","ttl":3600,"type":"A","rdata":["192.0.2.%d"],"ok":true}`, i, i%250)
	}
	b.WriteString(`]}`)
	return b.String()
}()

func BenchmarkCJSONDecode(b *testing.B) {
	L := lua.NewState()
	defer L.Close()
	cfg := newCJSONConfig(L, false)
	b.SetBytes(int64(len(benchJSON)))
	for i := 0; i < b.N; i++ {
		if _, err := cfg.decode(L, benchJSON); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCJSONEncode(b *testing.B) {
	L := lua.NewState()
	defer L.Close()
	cfg := newCJSONConfig(L, false)
	v, err := cfg.decode(L, benchJSON)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(benchJSON)))
	for i := 0; i < b.N; i++ {
		var sb strings.Builder
		if err := cfg.encode(&sb, v, 0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodingJSONDecode is the reference: encoding/json into any.
func BenchmarkEncodingJSONDecode(b *testing.B) {
	b.SetBytes(int64(len(benchJSON)))
	for i := 0; i < b.N; i++ {
		var v any
		if err := json.Unmarshal([]byte(benchJSON), &v); err != nil {
			b.Fatal(err)
		}
	}
}
