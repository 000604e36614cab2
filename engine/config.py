"""Settings in one place: defaults in code, then newsprism.toml, then NEWSPRISM_* variables, then flags.

Every value remembers where it came from, so `newsprism config` can say why a value is in force.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from newsprism.engine.clean import DateRange

DEFAULT_MODEL = "all-MiniLM-L6-v2"
MASK = "(set)"  # what every output shows for a secret that has a value


def _default_store() -> str:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "newsprism" / "store")


@dataclass
class Settings:
    """What the engine can be told; each field's comment is its help text."""

    store: str = field(default_factory=_default_store, metadata={"help": "store folder (SQLite + FAISS)"})
    model: str = field(default=DEFAULT_MODEL, metadata={
        "help": "sentence-transformers model: the packaged all-MiniLM-L6-v2, a folder, or a model name"})
    batch_size: int = field(default=64, metadata={"help": "sentences per encode batch"})
    ingest_batch: int = field(default=256, metadata={"help": "articles per ingest transaction"})
    max_article_chars: int = field(default=200_000, metadata={"help": "longer texts are rejected"})
    near_copy_jaccard: float = field(default=0.7, metadata={
        "help": "word 5-shingle Jaccard at or above which an article is a near-copy"})
    boilerplate_repeats: int = field(default=3, metadata={
        "help": "a short line seen in this many articles of one outlet is boilerplate"})
    exact_max: int = field(default=100_000, metadata={
        "help": "vector count up to which FAISS search is exact (flat); above it HNSW"})
    hnsw_ef_search: int = field(default=128, metadata={"help": "HNSW search depth (recall vs speed)"})
    story_window_days: float = field(default=60.0, metadata={
        "help": "time scale of the gap between a story and an article: within it the bar rises gently, past it "
                "a quiet story can still be resumed, on evidence the stronger the longer it was quiet; "
                "the settling pass after an ingest run also regroups this many recent days"})
    story_live_days: float = field(default=7.0, metadata={
        "help": "stories with an article within this many days are compared exactly; older ones are found "
                "through the dormant index (speed only: the gap penalty follows story_window_days)"})
    story_threshold: float = field(default=0.57, metadata={
        "help": "share of a story's own cohesion (mean similarity of its articles) an article needs to join it"})
    story_settle: bool = field(default=True, metadata={
        "help": "after each ingest run, regroup the stories still live in one batch pass (stable ids)"})
    story_settle_max: int = field(default=5000, metadata={
        "help": "at most this many of the newest articles are regrouped after an ingest run"})
    date_min: str = field(default="1900-01-01", metadata={
        "help": "articles dated before this are rejected (a typo or a forgery, not news)"})
    date_future_days: float = field(default=2.0, metadata={
        "help": "articles dated more than this many days after now are rejected"})
    max_heavy_reads: int = field(default=4, metadata={
        "help": "open reads that analyse or embed (compare, summarize, story analyses, search) served at once; "
                "more answer 503 with Retry-After"})
    engine: str = field(default="local", metadata={
        "help": "ingest engine: local (this process) or ray (Ray Data on a cluster; needs newsprism[ray])"})
    ray_address: str = field(default="", metadata={"help": "Ray cluster to join (empty: start a local one)"})
    ray_workers: int = field(default=0, metadata={
        "help": "embedding actors on Ray, one model each (0: one per GPU, else one per CPU)"})
    ivfpq_min: int = field(default=5_000_000, metadata={
        "help": "vector count above which FAISS uses the compressed IVF-PQ layout (about 830 bytes a vector)"})
    summary_words: int = field(default=120, metadata={"help": "default summary length in words"})
    api_key: str = field(default="", metadata={"help": "bearer key for HTTP writes (empty: writes open)",
                                               "secret": True})
    pages_need_key: bool = field(default=False, metadata={
        "help": "the served pages (/ui) need the editor's sign-in to read too, not only to curate"})
    outlet_groups: str = field(default="", metadata={
        "help": "outlet groups file (TOML, engine/groups.py) for blind spots and group filters in the pages"})
    max_batch: int = field(default=500, metadata={"help": "most articles in one HTTP batch"})
    max_body_bytes: int = field(default=20_000_000, metadata={"help": "largest HTTP body accepted"})
    outlet_aliases: dict = field(default_factory=dict, metadata={
        "help": "outlet name -> other names it appears under ([outlet_aliases] table; env: JSON)"})
    sources: dict[str, str] = field(default_factory=dict, repr=False, metadata={"internal": True})

    def canonical_outlet(self, name: str) -> str:
        """The one name an outlet goes by, whatever alias an input used (case-insensitive)."""
        folded = name.strip().lower()
        for canonical, aliases in self.outlet_aliases.items():
            if folded == canonical.lower() or folded in (a.lower() for a in aliases):
                return canonical
        return name

    def shown(self, name: str) -> Any:
        """A setting's value as any output may show it: a secret only says whether it is set."""
        value = getattr(self, name)
        if _SECRET.get(name):
            return MASK if value else ""
        return value

    def date_range(self) -> DateRange:
        """The publication dates taken as real (see `date_min`, `date_future_days`)."""
        return DateRange(self.date_min, self.date_future_days)

    def describe(self) -> list[dict[str, Any]]:
        """Each setting with its value (secrets masked), its source and its help, for `newsprism config`."""
        return [
            {"name": f.name, "value": self.shown(f.name), "source": self.sources.get(f.name, "default"),
             "help": f.metadata.get("help", "")}
            for f in fields(self) if not f.metadata.get("internal")
        ]

    def __repr__(self) -> str:
        """The dataclass repr with secrets masked: settings end up in logs and tracebacks."""
        shown = ", ".join(f"{f.name}={self.shown(f.name)!r}" for f in fields(self) if not f.metadata.get("internal"))
        return f"Settings({shown})"

    __str__ = __repr__


_SECRET = {f.name: bool(f.metadata.get("secret")) for f in fields(Settings)}


def _coerce(name: str, raw: Any, kind: type) -> Any:
    if kind is dict:
        value = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(value, dict) or not all(isinstance(v, list) for v in value.values()):
            raise ValueError(f"setting {name!r} must map a name to a list of names")
        return value
    if kind is bool or isinstance(kind, str) and kind == "bool":
        return raw if isinstance(raw, bool) else str(raw).lower() in {"1", "true", "yes", "on"}
    try:
        return kind(raw)
    except (TypeError, ValueError) as exc:
        shown = "the value" if _SECRET.get(name) else repr(raw)  # an error message must not print a secret
        raise ValueError(f"setting {name!r}: {shown} is not a valid {kind.__name__}") from None if _SECRET.get(
            name) else exc


def _types() -> dict[str, type]:
    hints = {"str": str, "int": int, "float": float, "bool": bool, "dict": dict}
    return {f.name: hints[str(f.type)] for f in fields(Settings) if not f.metadata.get("internal")}


def config_file() -> Path | None:
    explicit = os.environ.get("NEWSPRISM_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path.cwd() / "newsprism.toml"
    return local if local.exists() else None


def load_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """Settings from every layer; `overrides` are flags (None values are ignored)."""
    types = _types()
    settings = Settings()
    path = config_file()
    if path is not None:
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ValueError(f"cannot read settings file {path}: {exc}") from exc
        table = data.get("newsprism", data)
        for key, value in table.items():
            if key not in types:
                raise ValueError(f"{path}: unknown setting {key!r} (known: {', '.join(sorted(types))})")
            setattr(settings, key, _coerce(key, value, types[key]))
            settings.sources[key] = f"file {path}"
    for key, kind in types.items():
        env = os.environ.get(f"NEWSPRISM_{key.upper()}")
        if env is not None:
            setattr(settings, key, _coerce(key, env, kind))
            settings.sources[key] = f"env NEWSPRISM_{key.upper()}"
    for key, value in (overrides or {}).items():
        if value is None:
            continue
        if key not in types:
            raise ValueError(f"unknown setting {key!r}")
        setattr(settings, key, _coerce(key, value, types[key]))
        settings.sources[key] = "flag"
    return settings
