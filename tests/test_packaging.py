"""The installed distribution: one `newsprism` namespace, nothing at the top of site-packages as `api` or `index`."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_one_newsprism_namespace_with_its_data(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                    str(tmp_path), str(ROOT)], check=True, timeout=600, capture_output=True)
    wheel = next(tmp_path.glob("newsprism-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")} == {"newsprism"}
    for needed in ("newsprism/__init__.py", "newsprism/engine/stories.py", "newsprism/index/ann/flat.py",
                   "newsprism/api/cli.py", "newsprism/api/http/routers/pages.py", "newsprism/api/templates/story.html",
                   "newsprism/engine/demo/corpus.jsonl", "newsprism/engine/models/sameclaim-reader.safetensors"):
        assert needed in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "newsprism = newsprism.api.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()
