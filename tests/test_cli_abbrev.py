"""The command line never guesses an option from its prefix: argparse's default would take
``--model x`` as ``--models x`` (issue 10's "Bad input"), so every parser turns prefix matching off."""

from __future__ import annotations

import argparse

import pytest

from mlloop_tui.cli import build_parser
from tests.conftest import run_mlloop
from tests.test_cli import _assert_clean_failure


def _commands() -> dict[str, argparse.ArgumentParser]:
    """Every command's parser (and any nested subcommand's), by its full name."""
    found: dict[str, argparse.ArgumentParser] = {}

    def walk(parser: argparse.ArgumentParser, prefix: str) -> None:
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    found[f"{prefix}{name}"] = child
                    walk(child, f"{prefix}{name} ")

    walk(build_parser(), "")
    return found


def _required(parser: argparse.ArgumentParser) -> list[str]:
    """Values for the command's positional and required arguments, so only the abbreviation is at stake."""
    values = []
    for action in parser._actions:
        if action.option_strings and action.required:
            values.append(action.option_strings[-1])
        elif action.option_strings or isinstance(action, argparse._SubParsersAction):
            continue
        if action.nargs in ("*", "?"):
            continue
        value = str(next(iter(action.choices))) if action.choices else "1"
        values += [value] * (action.nargs if isinstance(action.nargs, int) else 1)
    return values


def _long_options(parser: argparse.ArgumentParser) -> list[str]:
    return [o for a in parser._actions for o in a.option_strings if o.startswith("--") and o != "--help"]


COMMANDS = _commands()


def test_the_private_argparse_names_this_file_walks_still_exist():
    assert hasattr(argparse, "_SubParsersAction") and hasattr(build_parser(), "_actions")
    assert {"run", "runs", "tune", "curve", "export"} <= set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_no_command_accepts_an_abbreviated_option(name):
    parser = COMMANDS[name]
    assert parser.allow_abbrev is False
    options = _long_options(parser)
    every = set(options) | set(_long_options(build_parser()))
    checked = 0
    for option in options:
        abbrev = option[:-1]
        if len(abbrev) < 3 or any(o.startswith(abbrev) and o != option for o in every):
            continue  # ambiguous prefixes are refused by argparse anyway; test the ones it would guess
        _, extras = parser.parse_known_args([*_required(parser), abbrev, "1"])
        assert abbrev in extras, (name, abbrev)
        checked += 1
    if options:
        assert checked, name


def test_top_level_options_are_not_abbreviated_either():
    _, extras = build_parser().parse_known_args(["--sto"])
    assert extras == ["--sto"]


def test_run_model_is_not_taken_as_models(tmp_path):
    """``--model`` is the model spec option (issue 10): ``--model tree`` is a spec without a name, not ``--models``."""
    r = run_mlloop("run", "nosuchdataset", "--model", "tree", store=tmp_path / "s.duckdb")
    _assert_clean_failure(r, "--model 'tree': expected NAME=SPEC")
    r = run_mlloop("run", "nosuchdataset", "--mod", "tree", store=tmp_path / "s.duckdb")
    _assert_clean_failure(r, "unrecognized arguments: --mod")
    assert not (tmp_path / "s.duckdb").exists()
