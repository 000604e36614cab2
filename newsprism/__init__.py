"""newsprism: the engine, the index and the faces under one name.

Installed, `engine`, `index` and `api` sit inside this package (pyproject's package-dir maps them), so
they never collide with other top-level modules. In a checkout they stay at the top level, as the
design has them, and this package's path reaches them there.
"""

from pathlib import Path

_here = Path(__file__).resolve().parent
if not (_here / "engine").is_dir():
    __path__.append(str(_here.parent))
