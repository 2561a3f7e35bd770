package host

import (
	"bufio"
	"reflect"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// gopher-lua keeps a few things the host needs unexported: the program
// counter and the caller of a call frame (to name the variable in a
// runtime error, as Lua 5.1's getobjname does, and to walk the stack
// without GetStack's tail-call levels) and the buffered reader of an io
// file (to read numbers as fscanf does). This file reads them, and nothing else
// touches gopher-lua's internals. Each reader checks the field's type and
// reports failure instead of guessing, so a gopher-lua upgrade that
// changes the layout degrades to unnamed errors and stock io.read
// (TestInternalsReadable fails in that case).

var (
	debugFrameField = fieldOf(reflect.TypeOf(lua.Debug{}), "frame", reflect.Pointer)
	readerType      = reflect.TypeOf((*bufio.Reader)(nil))
)

// fieldOf returns the index of a field of t with the given name and kind, or nil.
func fieldOf(t reflect.Type, name string, kind reflect.Kind) []int {
	f, ok := t.FieldByName(name)
	if !ok || f.Type.Kind() != kind {
		return nil
	}
	return f.Index
}

// frameValue returns the call frame a Debug record points at (a
// *callFrame as a reflect.Value that can be read), or false.
func frameValue(dbg *lua.Debug) (reflect.Value, bool) {
	if debugFrameField == nil || dbg == nil {
		return reflect.Value{}, false
	}
	fv := reflect.ValueOf(dbg).Elem().FieldByIndex(debugFrameField)
	fv = reflect.NewAt(fv.Type(), unsafe.Pointer(fv.UnsafeAddr())).Elem()
	if fv.IsNil() {
		return reflect.Value{}, false
	}
	return fv, true
}

// callerOf returns the Debug record of the frame that called dbg's frame
// (its Parent), following real frames only: unlike GetStack's levels, a
// frame reused by tail calls counts once, as in LuaJIT.
func callerOf(dbg *lua.Debug) (*lua.Debug, bool) {
	fv, ok := frameValue(dbg)
	if !ok {
		return nil, false
	}
	pf := fv.Elem().FieldByName("Parent")
	if !pf.IsValid() || pf.Type() != fv.Type() {
		return nil, false
	}
	parent := reflect.NewAt(pf.Type(), unsafe.Pointer(pf.UnsafeAddr())).Elem()
	if parent.IsNil() {
		return nil, false
	}
	d := &lua.Debug{}
	df := reflect.ValueOf(d).Elem().FieldByIndex(debugFrameField)
	reflect.NewAt(df.Type(), unsafe.Pointer(df.UnsafeAddr())).Elem().Set(parent)
	return d, true
}

// sameFrame reports whether two Debug records point at the same frame.
func sameFrame(a, b *lua.Debug) bool {
	fa, oka := frameValue(a)
	fb, okb := frameValue(b)
	return oka && okb && fa.Pointer() == fb.Pointer()
}

// framePC returns the index of the instruction a stack level is executing
// (the one that raised, for the level that raised) and its function.
func framePC(dbg *lua.Debug) (*lua.LFunction, int, bool) {
	fv, ok := frameValue(dbg)
	if !ok {
		return nil, 0, false
	}
	frame := fv.Elem()
	fnf, pcf := frame.FieldByName("Fn"), frame.FieldByName("Pc")
	if !fnf.IsValid() || !pcf.IsValid() || pcf.Kind() != reflect.Int {
		return nil, 0, false
	}
	fn, ok := reflect.NewAt(fnf.Type(), unsafe.Pointer(fnf.UnsafeAddr())).Elem().Interface().(*lua.LFunction)
	if !ok || fn == nil || fn.IsG || fn.Proto == nil {
		return nil, 0, false
	}
	pc := int(pcf.Int()) - 1
	if pc < 0 || pc >= len(fn.Proto.Code) {
		return nil, 0, false
	}
	return fn, pc, true
}

// fileReader returns the buffered reader of an io library file, or nil.
func fileReader(ud *lua.LUserData) *bufio.Reader {
	v := reflect.ValueOf(ud.Value)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("reader")
	if !f.IsValid() || f.Type() != readerType {
		return nil
	}
	r, _ := reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Interface().(*bufio.Reader)
	return r
}
