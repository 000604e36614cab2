"""Plain records that flow between the ingest stages and the engine's analyses.

Stages are functions over lists of these records (no store, no HTTP), so the same code can run
batch by batch on one machine or as map_batches on Ray Data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(slots=True)
class Rejection:
    """An input that could not be taken, with where it was and why, for the closing report."""

    origin: str
    reason: str


@dataclass(slots=True)
class RawItem:
    """One input record as read, before field names are normalised."""

    fields: dict
    origin: str  # "file:line" or "file", for messages


@dataclass(slots=True)
class Sentence:
    """A sentence of an article; `vector` is filled by the embed stage."""

    text: str
    position: int  # 0-based order in the article body; -1 for the title
    paragraph: int
    start: int
    end: int
    vector: np.ndarray | None = None
    id: int | None = None  # store id, once stored

    @property
    def is_title(self) -> bool:
        return self.position < 0


@dataclass(slots=True)
class Article:
    """A cleaned article. `id` is the input's own id (or a stable hash); the store adds a row id."""

    id: str
    text: str
    title: str = ""
    outlet: str = ""
    published: str | None = None  # ISO-8601 UTC
    url: str | None = None
    lang: str = "en"
    origin: str = ""
    sentences: list[Sentence] = field(default_factory=list)
    copy_of: str | None = None  # id of the original when this is a (near-)copy
    story_id: int | None = None
    version: int = 1
    digest: str = ""  # hash of the text as received: what duplicate checks compare

    def body(self) -> list[Sentence]:
        """The article's sentences without its title."""
        return [s for s in self.sentences if not s.is_title]
