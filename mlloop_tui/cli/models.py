"""``mlloop models``: the built-in models and the model specs runs in this store were made from.

A spec listed here can be run again with ``mlloop run DATASET --model NAME=SPEC`` (README: "Any
scikit-learn model").
"""

from __future__ import annotations

import argparse

from mlloop_tui.cli.output import out, print_json, print_table
from mlloop_tui.cli.store import open_store


def add_parsers(sub) -> None:
    p = sub.add_parser("models", help="built-in models, and the model specs used before in this store")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_models)


def cmd_models(args: argparse.Namespace) -> int:
    from core.modeling.models import BASELINES
    from core.store.model_specs import used_specs

    specs = used_specs(open_store(args))
    if args.json:
        print_json(
            {
                "builtin": [{"name": b.name, "description": b.description, "knob": b.knob} for b in BASELINES.values()],
                "specs": [s._asdict() for s in specs],
            }
        )
        return 0
    print_table(
        ["model", "description", "complexity knob"], [[b.name, b.description, b.knob] for b in BASELINES.values()]
    )
    out()
    if not specs:
        out("no model specs used yet: `mlloop run DATASET --model NAME=SPEC` (see README)")
        return 0
    print_table(
        ["spec name", "spec", "class", "runs", "last run"],
        [[s.name, s.text, s.estimator_class, s.n_runs, s.last_run_id] for s in specs],
    )
    return 0
