"""Every command's output passes one printable filter: hostile class labels, column names and
dataset names never reach the terminal as control sequences or reordering characters."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from mlloop_tui.cli import main
from tests.conftest import REPO

CLIPBOARD = "\x1b]52;c;aGFja2Vk\x07"  # OSC 52: writes the terminal's clipboard
CLEAR = "\x1b[2J"  # clears the screen
RLO = "exe.\u202etxt"  # right-to-left override: shows as "txt.exe"
HIDDEN = "a\u200bb\u2066c"  # zero-width space and a bidi isolate
DATASET = f"evil{CLEAR}{HIDDEN}"
# what a terminal would act on: C0 controls but newline, DEL, C1 controls, bidi and zero-width format characters
UNSAFE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("hostile")
    rng = np.random.default_rng(0)
    n = 150
    x = rng.normal(size=(n, 2))
    labels = np.array([CLIPBOARD, CLEAR, RLO])[(x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5).astype(int)]
    frame = pd.DataFrame(
        {
            f"{CLEAR}red": x[:, 0].round(3),
            f"\u202ename{CLIPBOARD}": x[:, 1].round(3),
            "kind": rng.choice([CLEAR, RLO, "plain"], size=n),
            "label": labels,
        }
    )
    csv = folder / "hostile.csv"
    frame.to_csv(csv, index=False)
    return folder / "s.duckdb", csv


def _mlloop(capsys, store, *args: str) -> tuple[int, str, str]:
    try:
        code = main(["--store", str(store), *args])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    return code, out, err


COMMANDS = [
    ["datasets"],
    ["datasets", DATASET],
    ["runs"],
    ["show", "1"],
    ["show", "2"],
    ["compare", "1", "2", "3"],
    ["curve", "3", "--sizes", "30,60", "--jobs", "1"],
    ["diagnose", "3"],
    ["test", "3", "--yes"],
    ["target", DATASET, "0.9"],
    ["target", DATASET],
    ["quality", DATASET, "--jobs", "1"],
    ["features", DATASET, "--cv", "3", "--jobs", "1"],
    ["tune", "3", "--param", "max_depth=2,3", "--jobs", "1"],
]


def test_every_command_prints_hostile_names_and_labels_as_visible_escapes(hostile, capsys, tmp_path):
    store, csv = hostile
    outputs = []
    code, out, err = _mlloop(capsys, store, "import", str(csv), "--target", "label", "--name", DATASET)
    assert code == 0, err
    outputs += [out, err]
    code, out, err = _mlloop(capsys, store, "run", DATASET, "--models", "dummy,glm,tree", "--cv", "3", "--jobs", "1")
    assert code == 0, err
    outputs += [out, err]
    for args in COMMANDS:
        for extra in ([], ["--json"]):
            code, out, err = _mlloop(capsys, store, *args, *extra)
            assert code == 0, (args, out, err)
            outputs += [out, err]
            if extra:
                json.loads(out)  # still valid JSON, the same data
    code, out, err = _mlloop(capsys, store, "export", "2", "-o", str(tmp_path / f"{CLEAR}.md"))
    assert code == 0, err
    outputs += [out, err]
    code, out, err = _mlloop(capsys, store, "show", f"{CLEAR}{RLO}")  # bad input echoed in the error line
    assert code == 2, err
    outputs += [out, err]
    code, out, err = _mlloop(capsys, store, "run", DATASET, "--models", f"tree{CLIPBOARD}")
    assert code == 2, err
    outputs += [out, err]
    for out in outputs:
        assert not UNSAFE.findall(out), out
    everything = "\n".join(outputs)
    # shown, not hidden: the escapes are there for the user to read
    assert "\\x1b]52;c;aGFja2Vk\\x07" in everything and "\\x1b[2J" in everything and "\\u202e" in everything
    # the multiclass GLM's family text names a class label: it goes through the filter too
    glm = next(o for o in outputs if "GLM (" in o)
    assert "\\x1b" in glm.split("GLM (", 1)[1].splitlines()[0]


def test_only_the_output_module_writes_to_the_terminal():
    """The filter above holds because nothing in the CLI package bypasses mlloop_tui.cli.output."""
    package = REPO / "mlloop_tui" / "cli"
    writes = re.compile(r"\bprint\(|sys\.(stdout|stderr)\.(write|buffer)|\b(stdout|stderr)\.write")
    modules = sorted(package.glob("*.py"))
    assert {"__init__.py", "output.py", "runs.py"} <= {p.name for p in modules}
    bypasses = [
        f"{p.name}:{n}: {line.strip()}"
        for p in modules
        if p.name != "output.py"
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if writes.search(line)
    ]
    assert not bypasses
