package testnet

import "runtime"

func runtimeGoexit() { runtime.Goexit() }
