"""Outlet groups an editor defines (public broadcasters, wires, tabloids...) and the blind spots they reveal.

A newsroom compares coverage not only outlet by outlet but by the kinds of outlet it cares about, so the
groups are the editor's own, kept in a small TOML file beside the store:

    # outlet-groups.toml: which outlets belong together, in the editor's terms.
    # Outlet names match case-insensitively (runs of spaces count as one); an outlet sits in one group.
    unlisted = "Other"      # optional: the group of every outlet no group names (default "Other")

    [groups]
    "Public" = ["National Broadcasting Service"]
    "Wire" = ["Continental Press"]
    "Tabloid" = ["The Daily Clarion"]
    "Business" = ["Meridian Business Review"]

(`unlisted` must come before `[groups]`: TOML puts top-level keys first.) Groups keep the file's order.

A blind spot is a story or a claim that at least two outlets carry, all of them in one group, while the
file defines other groups: the others' readers never saw it. One outlet alone is a scoop or a single-
source claim, which reports already show as such, so it is not called a blind spot.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

MIN_OUTLETS = 2  # a story or claim needs this many outlets before "only one group carries it" means anything
DEFAULT_UNLISTED = "Other"


def outlet_key(name: str) -> str:
    """How outlet names are matched: case and spacing do not matter."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True, slots=True)
class OutletGroups:
    """Group name -> outlets (file order), plus the name of the implicit group of unlisted outlets."""

    groups: dict[str, tuple[str, ...]]
    unlisted: str = DEFAULT_UNLISTED
    _index: dict[str, str] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for group, outlets in self.groups.items():
            if outlet_key(group) == outlet_key(self.unlisted):
                raise ValueError(f"group {group!r} has the name reserved for unlisted outlets")
            for outlet in outlets:
                key = outlet_key(outlet)
                if key in seen and seen[key] != group:
                    raise ValueError(f"outlet {outlet!r} is in two groups: {seen[key]!r} and {group!r}")
                seen[key] = group
        object.__setattr__(self, "_index", seen)

    @property
    def names(self) -> list[str]:
        """The defined groups in file order (the unlisted group is not one of them)."""
        return list(self.groups)

    def group_of(self, outlet: str) -> str:
        return self._index.get(outlet_key(outlet), self.unlisted)

    def blind_spot(self, outlets: Iterable[str]) -> dict | None:
        """`{"only_group", "outlets", "missing"}` when two or more outlets, all of one group, carry something."""
        carried = sorted(set(outlets))
        if len(carried) < MIN_OUTLETS:
            return None
        found = {self.group_of(o) for o in carried}
        if len(found) != 1:
            return None
        only = found.pop()
        missing = [g for g in self.names if g != only]
        if not missing:
            return None
        return {"only_group": only, "outlets": carried, "missing": missing}

    def to_dict(self) -> dict:
        return {"groups": {g: list(o) for g, o in self.groups.items()}, "unlisted": self.unlisted}


def parse_groups(data: dict, origin: str = "groups") -> OutletGroups:
    """Groups from parsed TOML (or JSON of the same shape), with messages that name the bad entry."""
    table = data.get("groups")
    if not isinstance(table, dict) or not table:
        raise ValueError(f"{origin}: needs a [groups] table mapping group names to lists of outlets")
    groups: dict[str, tuple[str, ...]] = {}
    for name, outlets in table.items():
        if not isinstance(outlets, list) or not all(isinstance(o, str) and o.strip() for o in outlets):
            raise ValueError(f"{origin}: group {name!r} must be a list of outlet names")
        groups[str(name)] = tuple(" ".join(o.split()) for o in outlets)
    unlisted = data.get("unlisted", DEFAULT_UNLISTED)
    if not isinstance(unlisted, str) or not unlisted.strip():
        raise ValueError(f"{origin}: 'unlisted' must be a group name")
    unknown = set(data) - {"groups", "unlisted"}
    if unknown:
        raise ValueError(f"{origin}: unknown key(s) {', '.join(sorted(unknown))} (expected 'unlisted', [groups])")
    return OutletGroups(groups, unlisted.strip())


def load_groups(path: str | Path) -> OutletGroups:
    """Read an outlet-groups TOML file (format in the module docstring)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read groups file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from exc
    return parse_groups(data, str(path))
