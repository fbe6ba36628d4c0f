"""The one place the command line opens the store: ``--store PATH``, else ``$MLLOOP_STORE``, else
``./mlloop.duckdb`` (:func:`core.store.default_store_path`)."""

from __future__ import annotations

import argparse


def open_store(args: argparse.Namespace):
    from core.store import Store, default_store_path

    return Store(args.store or default_store_path())
