"""The params.yaml check that ``python -m flows.<stage>`` runs before anything heavy is imported.

Imports only the typed configuration (``components.config``). Flow modules that do not read
params.yaml (``flows.predict``) are left alone.
"""

from __future__ import annotations

import argparse
import sys

from components.config import PARAMS_FILE, ParamsError, load_params

NO_PARAMS = {"flows.predict"}


def module_and_args(orig_argv: list[str]) -> tuple[str | None, list[str]]:
    """The module named after ``-m`` on the interpreter's command line, and the arguments after it."""
    if "-m" not in orig_argv[1:]:
        return None, []
    i = orig_argv.index("-m", 1)
    return (orig_argv[i + 1], orig_argv[i + 2 :]) if i + 1 < len(orig_argv) else (None, [])


def check_params(orig_argv: list[str]) -> None:
    """Exit 2 with ``components.config``'s message when the params file of this command is invalid."""
    module, args = module_and_args(orig_argv)
    if module is None or not module.startswith("flows.") or module in NO_PARAMS or {"-h", "--help"} & set(args):
        return
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--params", default=str(PARAMS_FILE))
    known, _ = parser.parse_known_args(args)
    try:
        load_params(known.params)
    except ParamsError as exc:
        print(exc, file=sys.stderr)
        sys.exit(2)
