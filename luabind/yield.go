package luabind

import (
	"runtime"
	"strings"
	"sync"
)

// CanYield reports whether a Go function called now may yield the running
// coroutine. gopher-lua runs metamethods, iterators and callbacks of Go
// functions (table.sort comparators, gsub replacement functions) in a
// nested VM loop; a yield from there corrupts the VM on resume. CanYield
// looks at the Go caller of the innermost VM loop: a coroutine resume is
// fine, anything else (a nested call) is not.
func CanYield() bool {
	var pcs [12]uintptr
	n := runtime.Callers(2, pcs[:])
	for i := 0; i < n; i++ {
		if classifyPC(pcs[i]) != pcVMLoop {
			continue
		}
		for j := i + 1; j < n; j++ {
			switch classifyPC(pcs[j]) {
			case pcResume:
				return true
			case pcVMLoop, pcOther:
				return false
			}
		}
		return true // the caller is beyond what we looked at: do not guess a nesting
	}
	return true
}

const (
	pcOther  = iota // some other function
	pcVMLoop        // gopher-lua's mainLoop
	pcResume        // a coroutine resume entering the VM loop
	pcSkip          // wrappers between them that say nothing either way
)

var pcKinds sync.Map // uintptr → int

func classifyPC(pc uintptr) int {
	if k, ok := pcKinds.Load(pc); ok {
		return k.(int)
	}
	kind := pcOther
	if f := runtime.FuncForPC(pc - 1); f != nil {
		name := f.Name()
		if strings.HasPrefix(name, "github.com/yuin/gopher-lua.") {
			switch name[strings.LastIndexByte(name, '.')+1:] {
			case "mainLoop", "mainLoopWithContext":
				kind = pcVMLoop
			case "threadRun", "coResume", "Resume", "coWrapAux":
				kind = pcResume
			}
		}
	}
	pcKinds.Store(pc, kind)
	return kind
}
