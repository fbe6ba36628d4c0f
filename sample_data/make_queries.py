"""Regenerate ``queries.csv``, the bundled ranking sample, byte for byte (seeded, nothing downloaded).

Usage::

    python sample_data/make_queries.py            # rewrite queries.csv next to this script
    python sample_data/make_queries.py OUT_DIR    # write it to OUT_DIR instead

200 search queries (``query_id`` q000 ... q199) with 10 candidate documents each. Each document
has four features: ``bm25`` (text match), ``clicks`` (past clicks, a count), ``age_days`` (how old
it is) and ``doc_type`` (article, forum or video). Its graded ``relevance`` (0 = bad ... 3 =
perfect) is a noisy function of them: ``1.5 * bm25 + 0.8 * log1p(clicks) - 0.004 * age_days``,
plus 0.3 for an article, plus normal noise (sd 1.0), cut at fixed thresholds. The documents of a
query are in a random order (not sorted by relevance). Kept apart from make_samples.py because
``mlloop demo`` imports those samples by target alone, and a ranking import also needs ``--group``:
``mlloop import sample_data/queries.csv --target relevance --task ranking --group query_id``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 0
QUERIES = 200
DOCS_PER_QUERY = 10
THRESHOLDS = (2.6, 3.6, 4.4)  # latent score -> relevance 0 | 1 | 2 | 3
FILE = "queries.csv"


def queries() -> pd.DataFrame:
    rng = np.random.RandomState(SEED)
    n = QUERIES * DOCS_PER_QUERY
    bm25 = rng.gamma(2.0, 0.6, n)
    clicks = rng.poisson(rng.gamma(1.0, 4.0, n))
    age_days = rng.randint(0, 365, n)
    doc_type = rng.choice(["article", "forum", "video"], n, p=[0.5, 0.3, 0.2])
    latent = 1.5 * bm25 + 0.8 * np.log1p(clicks) - 0.004 * age_days + 0.3 * (doc_type == "article")
    latent += rng.normal(0.0, 1.0, n)
    return pd.DataFrame(
        {
            "query_id": np.repeat([f"q{q:03d}" for q in range(QUERIES)], DOCS_PER_QUERY),
            "bm25": np.round(bm25, 3),
            "clicks": clicks,
            "age_days": age_days,
            "doc_type": doc_type,
            "relevance": np.searchsorted(THRESHOLDS, latent),
        }
    )


def write(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / FILE
    queries().to_csv(path, index=False, encoding="utf-8", lineterminator="\n", float_format="%.3f")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", type=Path, default=Path(__file__).resolve().parent)
    path = write(parser.parse_args(argv).out_dir)
    print(f"{path}  {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
