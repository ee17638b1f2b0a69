"""Domain errors of loa and the exit codes the `loa` command maps them to.

Every error carries a message meant for the station operator: it names the file, key or line
and says what to do. The CLI prints `str(error)` and exits with `error.exit_code`; tracebacks
appear only with `--debug`.
"""

from __future__ import annotations

# Exit codes (documented in README "Exit codes").
EXIT_OK = 0
EXIT_FAILED = 1  # the operation could not be done (a file, a device, a daemon)
EXIT_USAGE = 2  # click's own code for a wrong command line
EXIT_CONFIG = 3  # config.toml is missing, unreadable or invalid
EXIT_DATABASE = 4  # the database cannot be opened or is newer than this loa


class LoaError(Exception):
    """A failure with a message for the operator."""

    exit_code = EXIT_FAILED


class ConfigError(LoaError):
    """config.toml cannot be read or does not validate.

    `problems` holds one `key.path: message` line per problem; a line that starts with a
    space continues the problem above it (the TOML line a syntax error quotes).
    """

    exit_code = EXIT_CONFIG

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        count = sum(1 for p in problems if not p.startswith(" "))
        head = f"{path}: cấu hình không hợp lệ, {count} lỗi ({count} problem{'s' * (count != 1)})"
        super().__init__("\n".join([head, *problems]))


class DatabaseError(LoaError):
    exit_code = EXIT_DATABASE
