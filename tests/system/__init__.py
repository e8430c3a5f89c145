"""System tests: `threadline serve` and `threadline demo` run as subprocesses, driven through public protocols."""
