package luabind_test

import (
	"context"
	"errors"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"ljdns/luabind"
)

func TestInterrupt(t *testing.T) {
	i := luabind.NewInterrupt()
	if i.Err() != nil {
		t.Fatal("new interrupt has fired")
	}
	woke := make(chan struct{})
	stop := context.AfterFunc(i, func() { close(woke) })
	stale := context.AfterFunc(i, func() { t.Error("a stopped AfterFunc ran") })
	if !stale() {
		t.Error("stop of a pending AfterFunc should report true")
	}
	boom := errors.New("boom")
	i.Fire(boom)
	i.Fire(errors.New("second")) // ignored until Reset
	<-woke
	if stop() {
		t.Error("stop after firing should report false")
	}
	if err := i.Err(); err != boom {
		t.Errorf("Err %v, want %v", err, boom)
	}
	select {
	case <-i.Done():
	default:
		t.Error("Done not closed after Fire")
	}
	i.Reset()
	if i.Err() != nil {
		t.Error("Err after Reset")
	}
	select {
	case <-i.Done():
		t.Error("Done closed after Reset")
	default:
	}
}

// TestSharedContext: coroutines share the interrupt of their creator, so
// one made before an interruption runs after the Reset.
func TestSharedContext(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	i := luabind.NewInterrupt()
	L.SetContext(i)
	co := luabind.NewThread(L)
	if co.Context() != context.Context(i) {
		t.Fatal("NewThread: the coroutine has a context of its own")
	}
	fn, err := L.LoadString("coroutine.yield(1) return 2")
	if err != nil {
		t.Fatal(err)
	}
	if st, _, _ := L.Resume(co, fn); st != lua.ResumeYield {
		t.Fatalf("first resume: %v", st)
	}
	i.Fire(errors.New("interrupted"))
	i.Reset()
	if st, err, vals := L.Resume(co, nil); st != lua.ResumeOK || vals[0] != lua.LNumber(2) {
		t.Fatalf("resume after an interruption: %v %v %v", st, err, vals)
	}
	other := luabind.NewThread(L)
	L.RemoveContext()
	luabind.ShareContext(L, other)
	if other.Context() != nil {
		t.Error("ShareContext: the coroutine kept a context its resumer no longer has")
	}
}
