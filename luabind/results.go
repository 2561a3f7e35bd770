package luabind

import (
	"reflect"

	lua "github.com/yuin/gopher-lua"
)

// The values a resumed coroutine receives become the results of the Go
// call that yielded. gopher-lua copies them into the call's result
// registers without adjusting their number, so a call site expecting a
// fixed count (`local n, err = sock:receive()`, `local a, b =
// coroutine.yield()`) must get exactly that many: fewer leave Go nil in
// registers, which crashes the VM later. WantResults reads that count from
// the running Go function's call frame (unexported, read through
// reflection); the resumer pads or trims the values with Fit.

var frameField = func() int {
	f, ok := reflect.TypeOf(lua.LState{}).FieldByName("currentFrame")
	if !ok {
		return -1
	}
	return f.Index[0]
}()

// nretField is the index of callFrame.NRet (-1 if gopher-lua changed).
var nretField = func() int {
	if frameField < 0 {
		return -1
	}
	t := reflect.TypeOf(lua.LState{}).Field(frameField).Type
	if t.Kind() != reflect.Pointer {
		return -1
	}
	f, ok := t.Elem().FieldByName("NRet")
	if !ok {
		return -1
	}
	return f.Index[0]
}()

// WantResultsAvailable reports whether WantResults can read call frames
// (false if a gopher-lua upgrade renamed the fields it reads).
func WantResultsAvailable() bool { return frameField >= 0 && nretField >= 0 }

// WantResults returns how many results the call site of the running Go
// function expects, or -1 for "all of them" (or when unknown).
func WantResults(L *lua.LState) int {
	if !WantResultsAvailable() {
		return -1
	}
	f := reflect.ValueOf(L).Elem().Field(frameField)
	if f.Kind() != reflect.Pointer || f.IsNil() {
		return -1
	}
	n := f.Elem().Field(nretField)
	if !n.CanInt() {
		return -1
	}
	return int(n.Int())
}
