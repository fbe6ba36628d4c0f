"""Export a dataset summary (facts, profile, data quality, curse of dimensionality, and the
feature curves when they were computed) from the quality or the features screen.

It is the run export dialog (:class:`~mlloop_tui.dialogs.export.ExportDialog`: the file name
Input, F2 / F3 / F4 formats, asking before overwriting, one-line errors) with a dataset's file
name and :func:`core.export.write_dataset_export` as the writer. What the calling screen has
already computed is passed along, not computed again; findings the screen does not have are
computed here with ``jobs=-1``, after the path has been checked, so a bad name fails at once.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from rich.text import Text
from textual import work
from textual.widgets import Input

from core.dimensionality import CurseStats, FeatureCurves
from core.errors import InputError, MlloopError
from core.quality import Finding
from mlloop_tui.dialogs.export import ExportDialog, with_format
from mlloop_tui.parallel import allow_worker_processes


def propose_dataset_name(dataset: str, fmt: str = "md", folder: Path | None = None) -> str:
    """``mlloop-dataset-NAME.md`` (NAME reduced to safe characters), ``-2`` … when taken."""
    folder = Path(".") if folder is None else folder
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", dataset).strip("-.")[:40] or "dataset"
    stem = f"mlloop-dataset-{slug}"
    for n in range(1, 1000):
        name = f"{stem}.{fmt}" if n == 1 else f"{stem}-{n}.{fmt}"
        if not ((folder / name).exists() or (folder / name).is_symlink()):
            return name
    return f"{stem}-{os.getpid()}.{fmt}"


class DatasetExportDialog(ExportDialog):
    """Export one dataset's summary with what the calling screen computed."""

    def __init__(self, dataset: str, *, findings: tuple[Finding, ...] | None = None,
                 feature_curves: FeatureCurves | None = None, curse: CurseStats | None = None) -> None:
        super().__init__(())  # no runs: the name, the writer and the title are the dataset's
        self.dataset = dataset
        self.findings = findings
        self.feature_curves = feature_curves
        self.curse = curse
        self._proposed = propose_dataset_name(dataset, "md")

    @property
    def what(self) -> str:
        return f"dataset {self.dataset}"

    def action_set_format(self, fmt: str) -> None:
        box = self.query_one("#path", Input)
        if box.value == self._proposed:
            self._proposed = box.value = propose_dataset_name(self.dataset, fmt)
        elif box.value.endswith(("/", os.sep)):
            box.value += propose_dataset_name(self.dataset, fmt, Path(box.value).expanduser())
        else:
            box.value = with_format(box.value, fmt) or propose_dataset_name(self.dataset, fmt)
        box.cursor_position = len(box.value)
        box.focus()

    @work(thread=True, exclusive=True, group="export", exit_on_error=False, description="exporting a dataset")
    def write(self, value: str, overwrite: bool) -> None:
        from core.export import check_export_path, write_dataset_export
        from core.quality import check_quality

        target = Path(value).expanduser()
        try:
            check_export_path(target, overwrite=overwrite)
            findings = self.findings
            if findings is None:
                self.app.call_from_thread(self._set_status, Text("checking data quality for the summary…"))
                self.app.call_from_thread(allow_worker_processes)
                findings = check_quality(self.app.store, self.dataset, jobs=-1)
            path = write_dataset_export(self.app.store, self.dataset, target, overwrite=overwrite,
                                        findings=findings, feature_curves=self.feature_curves, curse=self.curse)
        except InputError as e:
            if not overwrite and (target.is_symlink() or (target.exists() and not target.is_dir())):
                self.app.call_from_thread(self._ask_overwrite, value)
            else:
                self.app.call_from_thread(self._failed, str(e))
        except MlloopError as e:
            self.app.call_from_thread(self._failed, str(e))
        except Exception as e:  # noqa: BLE001 - never crash the app on a bad path
            self.app.call_from_thread(self._failed, f"internal error: {type(e).__name__}: {e}")
        else:
            self.app.call_from_thread(self._written, Path(os.path.abspath(path)))
