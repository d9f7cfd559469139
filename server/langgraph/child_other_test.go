//go:build !linux

package langgraph_test

import "os/exec"

// dieWithTest does nothing here: only Linux has a parent-death signal.
func dieWithTest(*exec.Cmd) {}
