"""How a run's JSON columns are read and written beyond plain ``json``: :class:`JsonTexts` parses the texts
a listing's runs share once, and a run's sample (:class:`~core.types.RunSample`) is the JSON of its
``runs.sample`` column (NULL: fitted on every development row, as every run stored before the column was).
"""

from __future__ import annotations

import json
from typing import Any

from core.types import RunSample


def sample_json(sample: RunSample | None) -> str | None:
    if sample is None:
        return None
    return json.dumps(
        {
            "size": sample.size,
            "rows": sample.rows,
            "of": sample.of,
            "seed": sample.seed,
            "how": sample.how,
            "strata": [list(s) for s in sample.strata],
            "note": sample.note,
        }
    )


def sample_from_json(text: str | None) -> RunSample | None:
    if text is None:
        return None
    d: dict[str, Any] = json.loads(text)
    strata = tuple((str(label), int(n)) for label, n in d.get("strata", ()))
    return RunSample(int(d["size"]), int(d["rows"]), int(d["of"]), int(d["seed"]), d["how"], strata, d.get("note"))


class JsonTexts:
    """``json.loads`` for a listing, where thousands of runs share a few texts (the same
    versions, ``{}`` params, ``[]`` warnings): each distinct text is parsed once, and each call
    still returns a new object. Only flat lists and dicts of scalars are reused, so their
    shallow copy is a complete one; anything nested is parsed again every time.
    """

    _SCALARS = (str, int, float, bool, type(None))

    def __init__(self) -> None:
        self._flat: dict[str, list[Any] | dict[str, Any]] = {}

    def __call__(self, text: str) -> Any:
        value = self._flat.get(text)
        if value is not None:
            return value.copy()
        value = json.loads(text)
        items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else None
        if items is not None and all(isinstance(v, self._SCALARS) for v in items):
            self._flat[text] = value
            return value.copy()
        return value
