"""Reading parameter values from the command line: ``--param MODEL.NAME=VALUE`` (run), ``--param
NAME=V1,V2,...`` (tune) and value lists (``curve --values``, ``--sizes``).

Values are JSON where they parse (``2``, ``0.1``, ``null``, ``true``, ``"text"``), else text, and
Python's ``None``/``True``/``False`` are read as people type them. Errors are one-line
:class:`~core.errors.InputError`\\ s naming the option. Standard library only at import.
"""

from __future__ import annotations

from typing import Any

_PYTHON_WORDS = {"None": None, "True": True, "False": False}


def parse_params(items: list[str]) -> dict[str, dict[str, Any]]:
    """``tree.max_depth=3`` -> {"tree": {"max_depth": 3}}; values parsed as JSON when they can be."""
    from core.errors import InputError

    params: dict[str, dict[str, Any]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        model, dot, name = key.partition(".")
        if not sep or not dot or not model or not name:
            raise InputError(f"--param {item!r}: expected MODEL.NAME=VALUE, e.g. tree.max_depth=3")
        params.setdefault(model.strip(), {})[name.strip()] = _value(raw)
    return params


def parse_values(raw: str, name: str) -> list[Any]:
    """``1,2,null`` -> [1, 2, None]: JSON where it parses (numbers, null, true/false, quoted text), else text."""
    import json

    from core.errors import InputError

    text = raw.strip()
    if not text:
        raise InputError(f"{name}: no values given")
    try:
        return json.loads(f"[{text}]")
    except json.JSONDecodeError:
        pass
    values = []
    for piece in text.split(","):
        piece = piece.strip()
        if not piece:
            raise InputError(f"{name}: empty value in {raw!r}")
        values.append(_value(piece))
    return values


def parse_grid(items: list[str]) -> dict[str, list[Any]]:
    """``["max_depth=2,4,null", "criterion=gini,entropy"]`` -> {"max_depth": [2, 4, None], ...}."""
    from core.errors import InputError

    grid: dict[str, list[Any]] = {}
    for item in items:
        name, sep, raw = item.partition("=")
        name = name.strip()
        if not sep or not name or not raw.strip():
            raise InputError(f"--param {item!r}: expected NAME=V1,V2,..., e.g. max_depth=2,4,8")
        if name in grid:
            raise InputError(f"--param {name} is given twice; list all its values in one --param")
        grid[name] = parse_values(raw, f"--param {name}")
    return grid


def _value(raw: str) -> Any:
    import json

    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return _PYTHON_WORDS.get(raw, raw)
