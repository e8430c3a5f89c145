"""One module per `threadline` subcommand; each has register(subparsers) and run(args, context) -> exit code."""

# Order is the order shown by `threadline --help`.
COMMAND_MODULES = [
    "init",
    "doctor",
    "backup",
    "restore",
    "send_test_email",
    "dkim",
    "agent",
    "macros",
    "report",
    "end_user",
    "articles",
    "console",
    "serve",
    "demo",
]
