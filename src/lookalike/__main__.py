"""The `lookalike` command (and `python -m lookalike`).

Only the standard library is imported before the command runs: a decoding worker imports this module again
(multiprocessing re-runs the main script in each child), and must not import the whole command with it.
"""

from __future__ import annotations

import sys

DECODING_COMMANDS = ("scan", "demo")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in DECODING_COMMANDS:
        from lookalike.workers import start_early

        start_early()  # its imports overlap the command's
    from lookalike.cli import main as run_command

    run_command()


if __name__ == "__main__":
    main()
