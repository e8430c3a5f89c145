"""The `threadline` command line and the process wiring of `serve` and `demo`."""
__version__ = "0.1.0"
