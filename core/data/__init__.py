"""Datasets: reading users' files (``reading``, ``encodings``: sniffing, encodings, delimiters),
import (``importing``; ``inputs``: a glob or a directory of files as one table; ``memory``: ``--memory``
and spilling; ``progress``), profile (``profile``), the locked split (``split``), the bundled samples
(``samples``, ``demo``), and a dataset's rows as NumPy arrays or pandas for fitting and showing (``frames``), or a
run's sample of them (``sampling``: drawn in DuckDB, and the memory cap).
The dataset records themselves are read and written by :mod:`core.store.datasets`.

May import :mod:`core.store` (and errors, types, text); never modeling, analysis or report.
"""
