"""The model a feature-selection curve scores (``mlloop features DATASET --model RUN_OR_SPEC``).

``--model`` takes one of three things, told apart by their text:

* a built-in model's name (``linear``, ``tree``, ``forest``, ``boosting``);
* a run id (``41`` or ``#41``): that run's model, a built-in or its spec resolved again from its
  text, with the run's parameters;
* a spec ``NAME=SPEC`` (:mod:`core.modeling.specs`), resolved for the dataset's task and columns.

Whatever it is, it becomes one :class:`~core.modeling.models.Baseline` whose estimator carries
those parameters, so :func:`core.analysis.feature_selection.feature_curve` fits it on each fold's
selected columns exactly as it fits a built-in. The selection works on the preprocessed columns,
so a model that takes the raw columns (a ``raw`` spec, or a function returning a ``Pipeline``)
cannot be scored on them: refused, as are the dummy and the GLM (nothing to select for).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from core.errors import InputError
from core.modeling.models import BASELINES, Baseline
from core.store import Store
from core.types import Task

_RUN_ID = re.compile(r"^#?\d+$")
NO_SELECTION = ("dummy", "glm")  # a constant prediction, and statsmodels' GLM: nothing to compare over k


@dataclass(frozen=True)
class _WithParams:
    """A model family's factory with a run's parameters set underneath the ones asked for (picklable,
    so the baseline can travel to worker processes)."""

    factory: Any
    params: dict[str, Any]

    def __call__(self, task: Task, params: dict[str, Any], seed: int) -> Any:
        return self.factory(task, {**self.params, **params}, seed)


def feature_model(store: Store, model: str, task: Task, X: Any, seed: int = 0) -> Baseline:
    """The model ``model`` names (see the module doc) as a model family for ``task`` and ``X``'s columns.

    The returned baseline's ``name`` says what it is: ``linear``, ``svc``, or ``tree (run 41)``.
    A run that does not exist, a spec that does not resolve, a raw model, the dummy or the GLM: ``InputError``.
    """
    from core.modeling.specs import model_family, parse_model_option, run_model

    text = model.strip()
    params: dict[str, Any] = {}
    if _RUN_ID.match(text):
        from core.store.runs import get_run

        run = get_run(store, text)
        family, params = model_family(run_model(run), task, X), dict(run.params)
        label = f"{run.model} (run {run.id})"
    elif "=" in text:
        family = model_family(parse_model_option(text), task, X)
        label = family.name
    elif text in BASELINES:
        family = BASELINES[text]
        label = family.name
    else:
        raise InputError(
            f"unknown model {text!r}; give a built-in model ({', '.join(BASELINES)}), a run id or a spec NAME=SPEC"
        )
    if family.spec is None and family.name in NO_SELECTION:
        raise InputError(
            f"model {label!r} cannot be used for feature curves; try linear, tree, forest, boosting, "
            "a run id or a spec NAME=SPEC"
        )
    if family.raw:
        raise InputError(
            f"model {label} takes the raw feature columns (a 'raw' spec or its own Pipeline); feature curves "
            "select among the preprocessed columns: use a spec without 'raw'"
        )
    if params:
        family.estimator(task, params, seed)  # an unknown parameter of the run: InputError now, not in every fit
    return replace(family, name=label, factory=_WithParams(family.factory, params) if params else family.factory)
