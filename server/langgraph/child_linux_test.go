package langgraph_test

import (
	"os/exec"
	"syscall"
)

// dieWithTest makes the child process get SIGKILL if the test process dies
// (a test timeout), so that no weft serve outlives it.
func dieWithTest(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
