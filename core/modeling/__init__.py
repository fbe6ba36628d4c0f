"""Fitting: the metrics and the baseline models, the GLM wrapper, and cross-validation streamed
fold by fold to the store.

May import :mod:`core.store` and :mod:`core.data`; never analysis or report. scikit-learn and
statsmodels are imported lazily, inside the functions that fit.
"""
