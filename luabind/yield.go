package luabind

import (
	"runtime"
	"strings"
)

// CanYield reports whether a Go function called now may yield the running
// coroutine. gopher-lua runs metamethods and callbacks of Go functions
// (table.sort comparators, gsub replacement functions) in a nested VM
// loop; a yield from there corrupts the VM on resume. CanYield counts the
// VM loops on the Go stack since the coroutine was last resumed: more
// than one means a yield would cross such a boundary.
func CanYield() bool {
	var pcs [64]uintptr
	n := runtime.Callers(2, pcs[:])
	frames := runtime.CallersFrames(pcs[:n])
	loops := 0
	for {
		f, more := frames.Next()
		name := f.Function
		if i := strings.LastIndexByte(name, '.'); i >= 0 && strings.HasPrefix(name, "github.com/yuin/gopher-lua") {
			switch name[i+1:] {
			case "mainLoop", "mainLoopWithContext":
				loops++
			case "threadRun":
				return loops <= 1
			}
		}
		if !more {
			break
		}
	}
	return loops <= 1
}
