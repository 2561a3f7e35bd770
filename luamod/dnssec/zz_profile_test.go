package dnssec_test

import (
	"os"
	"runtime/pprof"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"ljdns/host"
)

func TestZZProfileBench(t *testing.T) {
	out := os.Getenv("BENCH_PROFILE")
	if out == "" {
		t.Skip()
	}
	os.Chdir("../..")
	os.Setenv("BENCH_STAGES", "sortedset,signer")
	L := host.New(host.Options{})
	defer L.Close()
	at := L.NewTable()
	at.RawSetInt(1, lua.LString("/tmp/zone100k.txt"))
	L.SetGlobal("arg", at)
	fn, err := host.LoadFile(L, "examples/bench.lua")
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Create(out)
	pprof.StartCPUProfile(f)
	defer pprof.StopCPUProfile()
	if err := host.Call(L, fn); err != nil {
		t.Fatal(host.FormatError(err))
	}
}
