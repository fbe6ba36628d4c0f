"""Which dataset a screen is about: what the app's quality (Q) and features (F) views open on.

The datasets list, the runs table and a run's detail each show a current dataset (the selected
one, or the run's). They say which through :meth:`ShowsDataset.current_dataset`; the app's
``quality`` and ``features`` actions ask the screen in front and open the view, so the two views
are opened, enabled and given their model in one place (:class:`~mlloop_tui.app.MlloopApp`).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable


class DatasetInView(NamedTuple):
    dataset: str
    model: str = "linear"  # what the features view fits: the run's model, or the linear baseline


def run_in_view(dataset: str, model: str, run_id: int) -> DatasetInView:
    """A run's dataset, and its model for the features view: a baseline by name, a model spec as
    ``#RUN`` (``mlloop features --model`` takes a run id: the run's spec and parameters), since a
    spec's name means nothing outside its run."""
    from core.modeling.models import BASELINES

    return DatasetInView(dataset, model if model in BASELINES else f"#{run_id}")


@runtime_checkable
class ShowsDataset(Protocol):
    def current_dataset(self) -> DatasetInView | None:
        """The dataset in view now, or None (nothing selected yet)."""
        ...
