"""Datasets: reading users' files (sniffing, encodings, delimiters), import, profile, the locked split,
the bundled samples, and loading a dataset's rows for fitting.

May import :mod:`core.store` (and errors, types, text); never modeling, analysis or report.
"""
