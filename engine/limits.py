"""Ceilings on what one input may ask of the engine: one place, read by the CLI, the HTTP schema and the store.

Each bound is generous for real news and small enough that no single article, query or request can
make the server do unbounded work. Raising one is a code change on purpose, not a setting.
"""

from __future__ import annotations

MAX_ID_CHARS = 256  # an article id (input ids are often URLs)
MAX_TITLE_CHARS = 1_000
MAX_OUTLET_CHARS = 200
MAX_URL_CHARS = 2_048
MAX_DATE_CHARS = 64  # a date as written, before it is read
MAX_LANG_CHARS = 16
MAX_SENTENCES_PER_ARTICLE = 3_000
MAX_SENTENCE_CHARS = 2_000  # longer runs without a full stop are cut (at a space) into pieces this long
MAX_SENTENCES_PER_REQUEST = 20_000  # /compare and /summarize over posted articles
MAX_VERSIONS_PER_ARTICLE = 100  # corrections kept per article
MAX_QUERY_CHARS = 1_000  # a search query
MAX_SEARCH_DEPTH = 1_000  # offset + k of a search
MAX_NEIGHBOURS = 4_096  # FAISS neighbours one search may ask for, however deep the page
MAX_DIFF_SENTENCES = 200  # removed (and added) sentences paired by words in one version diff
MAX_DIFF_TOKENS = 80  # words compared per sentence in a diff: difflib's cost on repeated tokens grows faster than n^2
MAX_PAGE_BYTES = 10_000_000  # one HTML, text or Markdown input (a page with its scripts), read before any parse
MAX_PAGE_TAGS = 30_000  # tags in one HTML page (a news page has a few thousand); the extractor is superlinear


class OverLimit(ValueError):
    """A request asks for more work than a ceiling here allows; the message names the ceiling."""
