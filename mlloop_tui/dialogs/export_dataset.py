"""Export a dataset summary (facts, profile, data quality, curse of dimensionality, and the
feature curves when they were computed) from the quality or the features screen.

It is the run export dialog (:class:`~mlloop_tui.dialogs.export.ExportDialog`: the file name
Input, F2 / F3 / F4 formats, asking before overwriting, one-line errors) with a dataset's file
name and :func:`core.report.export.write_dataset_export` as the writer. What the calling screen has
already computed is passed along, not computed again; findings the screen does not have are
computed in a child process (``jobs=-1``, :class:`~mlloop_tui.runner.QualityRequest`) after the
path has been checked, so a bad name fails at once; the child is killed if the dialog goes (the
app quits) first.
"""

from __future__ import annotations

import re
from pathlib import Path

from rich.text import Text

from core.analysis.dimensionality import CurseStats
from core.analysis.feature_selection import FeatureCurves
from core.analysis.findings import Finding
from mlloop_tui.compute import findings_of
from mlloop_tui.dialogs.export import ExportDialog, free_name
from mlloop_tui.runner import ComputeChild, QualityRequest


def propose_dataset_name(dataset: str, fmt: str = "md", folder: Path | None = None) -> str:
    """``mlloop-dataset-NAME.md`` (NAME reduced to safe characters), ``-2`` … when taken."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", dataset).strip("-.")[:40] or "dataset"
    return free_name(f"mlloop-dataset-{slug}", fmt, folder)


class DatasetExportDialog(ExportDialog):
    """Export one dataset's summary with what the calling screen computed."""

    def __init__(
        self,
        dataset: str,
        *,
        findings: tuple[Finding, ...] | None = None,
        feature_curves: FeatureCurves | None = None,
        curse: CurseStats | None = None,
    ) -> None:
        super().__init__(())  # no runs: the name, the writer and the title are the dataset's
        self.dataset = dataset
        self.findings = findings
        self.feature_curves = feature_curves
        self.curse = curse
        self.check: ComputeChild | None = None  # the quality check this export waits for

    @property
    def what(self) -> str:
        return f"dataset {self.dataset}"

    def propose(self, fmt: str, folder: Path | None = None) -> str:
        return propose_dataset_name(self.dataset, fmt, folder)

    def export_to(self, target: Path, overwrite: bool) -> Path:
        from core.report.export import check_export_path, write_dataset_export

        check_export_path(target, overwrite=overwrite)  # a bad name fails before the quality check
        findings = self.findings
        if findings is None:
            self.app.call_from_thread(self._set_status, Text("checking data quality for the summary…"))
            findings = self.findings = findings_of(self.app.call_from_thread(self._start_check).events())
        return write_dataset_export(
            self.app.store,
            self.dataset,
            target,
            overwrite=overwrite,
            findings=findings,
            feature_curves=self.feature_curves,
            curse=self.curse,
        )

    def _start_check(self) -> ComputeChild:
        """Started on the event loop, so that a dialog going away always finds the child to kill."""
        self.check = ComputeChild(QualityRequest(self.dataset), self.app.store.path)
        return self.check

    def on_unmount(self) -> None:
        if self.check is not None:
            self.check.kill()
