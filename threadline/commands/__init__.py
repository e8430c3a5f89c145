"""One module per `threadline` subcommand; each has register(subparsers) and run(args, context) -> exit code."""

# Order is the order shown by `threadline --help`.
COMMAND_MODULES = [
    "init",
    "doctor",
    "send_test_email",
    "dkim",
    "agent",
    "articles",
    "console",
    "serve",
    "demo",
]
