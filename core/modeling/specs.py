"""Model specs: any scikit-learn-compatible estimator, named by text (``--model NAME=SPEC``).

Two forms:

* ``package.module.Class(arg=literal, ...)``: parsed with :mod:`ast`; every argument must be a
  keyword whose value is a Python literal (:func:`ast.literal_eval`), and the name must resolve to
  an estimator class before anything is called, so ``os.system("...")`` never runs.
* ``path/to/file.py:function`` or ``package.module:function``: a function returning an estimator,
  called with the keyword arguments it accepts among ``task`` (``"binary"``, ``"multiclass"``,
  ``"regression"``) and ``column_kinds`` (``{"numeric": [...], "categorical": [...]}``).

Preprocessing: the estimator gets mlloop's standard preprocessing (the baselines' imputation,
one-hot encoding and scaling, fitted per fold) unless the spec ends with `` raw`` or a function
returns a :class:`~sklearn.pipeline.Pipeline`; then it gets the raw feature columns as a pandas
DataFrame. A spec is text: it is stored as text and resolved again (its module imported, its
function called) whenever a run is built from it; nothing is ever unpickled from the store.

Class labels and threads: a classifier that accepts only the labels 0 .. k-1 (XGBoost's) is fitted
on label codes and answers in the dataset's labels, and LightGBM's ``n_jobs=None`` (every physical
core, past a worker's thread cap) becomes ``0`` (OpenMP's default, inside the cap); see
:mod:`core.modeling.adapters`. Any other estimator, and every built-in model, is left as it is.

A third form exists only in Python (:func:`object_spec`, used by :mod:`core.api`): an estimator
object, cloned for every pipeline and pickled to worker processes in memory only. Its run stores
the object's ``repr`` behind :data:`OBJECT_PREFIX`, which no spec parses: the CLI cannot re-create it.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import importlib
import importlib.util
import inspect
import json
import re
import sys
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from core.errors import InputError
from core.modeling.models import BASELINES, Baseline, resolve_models
from core.text import error_line
from core.types import ModelSpecInfo, RunRecord, Task

RAW_MARKER = "raw"
_RAW = re.compile(rf"\s+{RAW_MARKER}$")
_FUNCTION = re.compile(r"^(?P<target>[^\s:()=,]+):(?P<function>[A-Za-z_]\w*)$")
_NAME = re.compile(r"^[A-Za-z_][\w-]*$")
_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
OBJECT_PREFIX = "python object, not re-creatable from the CLI: "
_LITERALS = "numbers, strings, True/False/None, and lists, tuples, dicts or sets of them"


@dataclass(frozen=True)
class ModelSpec:
    """A spec parsed from its text, nothing imported yet (:func:`spec_baseline` imports)."""

    name: str
    text: str  # as stored: the spec without ``NAME=``
    kind: Literal["class", "function", "object"]
    target: str  # the dotted class, or the module or .py file of the function
    function: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    raw: bool = False
    estimator: Any = field(default=None, compare=False, repr=False)  # kind "object" only

    @property
    def is_file(self) -> bool:
        return self.kind == "function" and (self.target.endswith(".py") or "/" in self.target)


def parse_model_option(value: str) -> ModelSpec:
    """``svc=sklearn.svm.SVC(C=2.0)`` (the ``--model`` option) -> its :class:`ModelSpec`."""
    name, sep, text = value.partition("=")
    name = name.strip()
    if not sep or not text.strip() or not name or "(" in name:
        raise InputError(f"--model {value!r}: expected NAME=SPEC, e.g. svc=sklearn.svm.SVC(C=2.0)")
    check_name(name, "--model name")
    return parse_spec(name, text)


def check_name(name: str, what: str) -> None:
    """A spec's name: a word that is not a built-in model's."""
    if not _NAME.match(name):
        raise InputError(f"{what} {name!r}: use letters, digits, '_' or '-' (starting with a letter)")
    if name in BASELINES or name == "all":
        raise InputError(f"{what} {name!r} is a built-in model's; give the spec another name")


def object_spec(name: str, estimator: Any, raw: bool = False) -> ModelSpec:
    """An estimator object from Python as a spec; its stored text is :data:`OBJECT_PREFIX` + its ``repr``."""
    check_name(name, "model name")
    if isinstance(estimator, type):
        raise InputError(f"model {name}: {estimator.__name__} is a class; pass an instance of it")
    spec = ModelSpec(name, "", "object", type(estimator).__qualname__, raw=raw, estimator=estimator)
    _require_estimator(spec, estimator, f"a {type(estimator).__name__}")
    return replace(spec, text=OBJECT_PREFIX + " ".join(repr(estimator).split()))


def parse_spec(name: str, text: str) -> ModelSpec:
    """The spec's form, target and literal arguments; a syntax error or a non-literal argument is an ``InputError``."""
    text = text.strip()
    body, raw = _RAW.sub("", text), bool(_RAW.search(text))
    found = _FUNCTION.match(body)
    if found:
        target, function = found["target"], found["function"]
        spec = ModelSpec(name, text, "function", target, function, raw=raw)
        if not spec.is_file and not _DOTTED.match(target):
            raise InputError(f"model {name}: {target!r} is neither a .py file nor a module name")
        return spec
    try:
        node = ast.parse(body, mode="eval").body
    except SyntaxError as e:
        raise InputError(f"model {name}: syntax error in spec {body!r}: {e.msg}") from None
    call = node if isinstance(node, ast.Call) else None
    dotted = _dotted(call.func if call else node)
    if dotted is None or "." not in dotted:
        raise InputError(
            f"model {name}: expected package.module.Class(arg=value, ...) or file.py:function, got {body!r}"
        )
    if call and call.args:
        raise InputError(f"model {name}: positional argument {ast.unparse(call.args[0])!r}; write NAME=VALUE")
    kwargs: dict[str, Any] = {}
    for kw in call.keywords if call else []:
        if kw.arg is None:
            raise InputError(f"model {name}: **{ast.unparse(kw.value)} is not allowed; write NAME=VALUE")
        try:
            kwargs[kw.arg] = ast.literal_eval(kw.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            raise InputError(
                f"model {name}: argument {kw.arg}={ast.unparse(kw.value)} is not a literal ({_LITERALS})"
            ) from None
    return ModelSpec(name, text, "class", dotted, kwargs=kwargs, raw=raw)


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def run_model(run: RunRecord) -> str | ModelSpec:
    """What re-creates a stored run's model: a built-in's name, or its spec parsed again from its text.
    A run of a Python object (:func:`object_spec`) cannot be re-created: ``InputError`` says so."""
    if run.spec and run.spec.text.startswith(OBJECT_PREFIX):
        raise InputError(
            f"run {run.id}'s model {run.model} was a Python object ({run.spec.estimator_class}) passed to "
            "core.api.run; it cannot be re-created from the store: run a spec (--model NAME=SPEC) instead"
        )
    return parse_spec(run.model, run.spec.text) if run.spec else run.model


def run_family(run: RunRecord, X: Any) -> Baseline:
    """The model family of a stored run (a spec resolved again), for tuning, curves and the test set."""
    model = run_model(run)
    if isinstance(model, str) and model not in BASELINES:
        raise InputError(f"run {run.id} used the model {run.model!r}, which this mlloop does not know")
    return model_family(model, run.task, X)


def model_family(model: str | ModelSpec, task: Task, X: Any) -> Baseline:
    """A built-in model by name, or a spec resolved for this task and these feature columns."""
    if isinstance(model, str):
        return resolve_models([model])[0]
    from core.modeling.evaluation import feature_types

    return spec_baseline(model, task, *feature_types(X))


def spec_baseline(spec: ModelSpec, task: Task, numeric: list[str], categorical: list[str]) -> Baseline:
    """The spec as a model family the evaluation builds pipelines from.

    Resolves the spec once (imports, checks it is an estimator fit for ``task``); the factory
    resolves it again for every pipeline, so each gets a fresh estimator, then sets ``params`` (and
    adapts what some libraries do unlike scikit-learn, :func:`core.modeling.adapters.adapt`).
    """
    column_kinds = {"numeric": list(numeric), "categorical": list(categorical)}
    first, raw = _resolve(spec, task, column_kinds)
    _check_estimator(spec, first, task)

    def factory(task_: Task, params: dict[str, Any], seed: int) -> Any:
        from core.modeling.adapters import adapt

        estimator = _resolve(spec, task_, column_kinds)[0]
        try:
            estimator = estimator.set_params(**params) if params else estimator
        except ValueError as e:
            raise InputError(f"model {spec.name}: {error_line(e)}") from None
        return adapt(estimator, task_)

    return Baseline(
        spec.name,
        spec.text,
        scaled=True,
        drop_first=False,
        knob=None,
        knob_values=(),
        factory=factory,
        spec=spec.text,
        raw=raw,
    )


def _resolve(spec: ModelSpec, task: Task, column_kinds: dict[str, list[str]]) -> tuple[Any, bool]:
    """A fresh estimator from the spec, and whether it takes the raw columns."""
    from sklearn.pipeline import Pipeline

    if spec.kind == "object":
        from sklearn.base import clone

        try:
            estimator = clone(spec.estimator)
        except Exception as e:
            raise InputError(f"model {spec.name}: cloning {spec.target} raised {error_line(e)}") from None
        return estimator, spec.raw or isinstance(estimator, Pipeline)
    if spec.kind == "class":
        cls = _import_object(spec, spec.target)
        if not isinstance(cls, type):
            raise InputError(
                f"model {spec.name}: {spec.target} is not a class; a spec is package.module.Class(...) "
                "or file.py:function"
            )
        _require_estimator(spec, cls, spec.target)
        try:
            return cls(**copy.deepcopy(spec.kwargs)), spec.raw  # a list or dict argument is never shared
        except Exception as e:
            raise InputError(f"model {spec.name}: {spec.target}(...) raised {error_line(e)}") from None
    module = _load_file(spec) if spec.is_file else _import_module(spec, spec.target)
    function = getattr(module, spec.function or "", None)
    where = f"{spec.target}:{spec.function}"
    if not callable(function):
        raise InputError(f"model {spec.name}: {spec.target} has no function {spec.function!r}")
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: offer nothing
        parameters = []
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    accepted = {p.name for p in parameters}
    offered = {"task": task, "column_kinds": column_kinds}
    try:
        estimator = function(**{k: v for k, v in offered.items() if takes_any or k in accepted})
    except Exception as e:
        raise InputError(f"model {spec.name}: {where} raised {error_line(e)}") from None
    _require_estimator(spec, estimator, f"what {where} returned ({type(estimator).__name__})")
    return estimator, spec.raw or isinstance(estimator, Pipeline)


def _require_estimator(spec: ModelSpec, obj: Any, what: str) -> None:
    missing = [m for m in ("fit", "get_params") if not callable(getattr(obj, m, None))]
    if missing:
        raise InputError(f"model {spec.name}: {what} is not an estimator (it has no {' or '.join(missing)})")


def _check_estimator(spec: ModelSpec, estimator: Any, task: Task) -> None:
    """A regressor on a classification dataset, a classifier on a regression one, or a classifier that
    cannot give what a metric's scorer needs: ``InputError`` before any run exists."""
    from sklearn.base import is_classifier, is_regressor
    from sklearn.metrics import get_scorer

    from core.modeling.evaluation import scoring

    label = type(estimator).__name__
    if task == "ranking":  # scored on predict(), per query (core.modeling.ranking)
        if is_classifier(estimator):
            raise InputError(f"model {spec.name}: {label} is a classifier; a ranking dataset needs a regressor")
        if not callable(getattr(estimator, "predict", None)):
            raise InputError(f"model {spec.name}: {label} has no predict method")
        return
    if task == "regression" and is_classifier(estimator):
        raise InputError(f"model {spec.name}: {label} is a classifier; this dataset's task is regression")
    if task != "regression" and is_regressor(estimator):
        raise InputError(f"model {spec.name}: {label} is a regressor; this dataset's task is {task} classification")
    if not callable(getattr(estimator, "predict", None)):
        raise InputError(f"model {spec.name}: {label} has no predict method")
    for metric, scorer in scoring(task).items():
        methods = getattr(get_scorer(scorer), "_response_method", "predict")
        methods = (methods,) if isinstance(methods, str) else tuple(methods)
        if not any(callable(getattr(estimator, m, None)) for m in methods):
            raise InputError(
                f"model {spec.name}: the {metric} metric needs {' or '.join(methods)}, which {label} does not "
                "have; return it wrapped in sklearn.calibration.CalibratedClassifierCV from a file.py:function spec"
            )


def _import_object(spec: ModelSpec, dotted: str) -> Any:
    """``a.b.C``: the longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for i in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:i])
        try:
            obj = _import_module(spec, module_name, quiet_missing=True)
        except ModuleNotFoundError:
            continue
        for j, attr in enumerate(parts[i:], start=i):
            if not hasattr(obj, attr):
                raise InputError(f"model {spec.name}: {'.'.join(parts[:j])} has no attribute {attr!r}")
            obj = getattr(obj, attr)
        return obj
    raise InputError(f"model {spec.name}: no module named {parts[0]!r}")


def _import_module(spec: ModelSpec, name: str, quiet_missing: bool = False) -> Any:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as e:
        if e.name is not None and (name == e.name or name.startswith(e.name + ".")):
            if quiet_missing:
                raise
            raise InputError(f"model {spec.name}: no module named {e.name!r}") from None
        raise InputError(f"model {spec.name}: importing {name} failed: {error_line(e)}") from None
    except Exception as e:
        raise InputError(f"model {spec.name}: importing {name} failed: {error_line(e)}") from None


def _load_file(spec: ModelSpec) -> Any:
    """Execute a spec's .py file as a module of its own (again at every resolution, so edits count).

    The module is registered with cloudpickle by value: joblib's worker processes cannot import a
    file that is not on their path, so classes and functions it defines travel with the estimator.
    """
    import cloudpickle

    path = Path(spec.target).expanduser()
    if not path.is_file():
        raise InputError(f"model {spec.name}: file {spec.target} does not exist")
    module_name = "mlloop_spec_" + hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    loader_spec = importlib.util.spec_from_file_location(module_name, path)
    if loader_spec is None or loader_spec.loader is None:
        raise InputError(f"model {spec.name}: {spec.target} cannot be loaded as Python")
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[module_name] = module
    try:
        loader_spec.loader.exec_module(module)
    except SyntaxError as e:
        sys.modules.pop(module_name, None)
        raise InputError(f"model {spec.name}: syntax error in {spec.target} line {e.lineno}: {e.msg}") from None
    except Exception as e:
        sys.modules.pop(module_name, None)
        raise InputError(f"model {spec.name}: running {spec.target} raised {error_line(e)}") from None
    cloudpickle.register_pickle_by_value(module)
    return module


def spec_info(baseline: Baseline, pipeline: Any) -> ModelSpecInfo | None:
    """What a spec run records: its text, the estimator's class and parameters (JSON-safe), and the
    version of the package the class comes from (a file's content hash for a class from a file)."""
    from core.modeling.adapters import LabelCoded

    if baseline.spec is None:
        return None
    estimator = pipeline.named_steps["model"]
    if isinstance(estimator, LabelCoded):  # the estimator the spec names, not its label coding
        estimator = estimator.estimator
    cls = type(estimator)
    top = cls.__module__.split(".")[0]
    versions: dict[str, str] = {}
    module = sys.modules.get(cls.__module__)
    source = getattr(module, "__file__", None)
    if top.startswith("mlloop_spec_") and source:
        versions[str(source)] = "sha256:" + hashlib.sha256(Path(source).read_bytes()).hexdigest()[:16]
    else:
        for dist in metadata.packages_distributions().get(top, []):
            versions[dist] = metadata.version(dist)
    params = {k: _json_safe(v) for k, v in estimator.get_params().items()}
    return ModelSpecInfo(baseline.spec, f"{cls.__module__}.{cls.__qualname__}", params, versions)


def _json_safe(value: Any) -> Any:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        return repr(value)
    return value
