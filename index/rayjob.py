"""Ingest and backfill on Ray Data: the engine's stages over batches on a cluster, the store the one writer.

A local ingest decides some things from the store as it goes: which articles it already holds (skipped
before embedding) and which short lines recur in an outlet (boilerplate), both depending on the batches
before. So a Ray job runs in two passes. Pass 1 reads and normalises every input on the cluster (one task
a file) and sends back only small facts per article (id, URL, text hash, short-line keys); the driver
replays the local decisions batch by batch into a `Plan`. Pass 2 reads again and runs normalise, clean,
split, language and embed (an actor pool, one model per actor) on the cluster, following the plan. Pass 2
starts with pass 1 (its reads run and its actors are asked for meanwhile) and its tasks wait for the plan on
a `PlanBoard`. Back to back the two cost ~30 s before the first encode of a 100-article job; on a fresh
2-CPU cluster the actor still started only once pass 1 was done (docs/scale.md, the profile). Results
come back in any order; the driver regroups them by input position into the local ingest's batches and
hands each to the same writer (`Ingestor.write`), which decides duplicates, copies, versions and stories
against the store.
A Ray ingest therefore stores what a local one would.

`backfill` runs pass 2 into Parquet shards (one per input chunk, written atomically: a shard on disk is
a chunk done, so a rerun skips it), then loads the shards in input order through the same writer.

Ray is optional: nothing imports this module unless `--engine ray` or `backfill` is asked for.
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import queue
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from newsprism.engine import parse, pipeline
from newsprism.engine.config import Settings
from newsprism.engine.records import Article, RawItem, Rejection, Sentence
from newsprism.index.ingest import Ingestor, IngestReport
from newsprism.index.stories import StoryKeeper

CHUNK = 32  # input items per Ray row: enough rows to keep every worker busy, enough sentences per encode call
LIGHT_CPUS = 0.25  # read, plan and prepare tasks: parsing and regexes, light next to the model
ACTOR_CACHE = 50_000  # sentence vectors an embedding actor remembers (~80 MB): a text repeated across rows encodes once
AHEAD = 8  # parts waiting for the writer before the cluster is held back
OBJECT_STORE_BYTES = 1 << 30  # a local cluster's shared-memory store; rows are small pickles
ROOT = Path(__file__).resolve().parents[1]  # workers import this checkout, not another installed copy


def connect(address: str | None = None, num_cpus: int | None = None) -> None:
    """Join the cluster at `address`, or start a local one (tests: `num_cpus=2`); reuses a live connection."""
    import ray

    if ray.is_initialized():
        return
    env = {"env_vars": {"PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
                        "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1"}}
    if address:
        ray.init(address=address, runtime_env=env, log_to_driver=False)
    else:
        # Ray's memory monitor counts every process on the host and kills our workers when a shared
        # machine fills up; a local job bounds its own memory (small rows, one model per actor)
        os.environ.setdefault("RAY_memory_monitor_refresh_ms", "0")
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, runtime_env=env,
                 object_store_memory=OBJECT_STORE_BYTES)
    from ray.data import DataContext

    DataContext.get_current().enable_progress_bars = False  # our own progress goes to stderr


# ---- stages (run on workers; plain engine calls over pickled rows) ------------------------------------------


def read_chunks(row: dict, chunk: int) -> Iterator[dict]:
    """One input file -> rows of up to `chunk` items (RawItem or Rejection), numbered by position in the file."""
    items = parse.read_file(Path(row["path"]))
    for number, part in enumerate(pipeline.batched(items, chunk)):
        yield {"source": row["source"], "start": number * chunk, "items": pickle.dumps(part)}


def _normalize_one(item: RawItem, settings: Settings) -> Article | Rejection:
    articles, rejected = pipeline.normalize([item], settings.max_article_chars, settings.canonical_outlet,
                                            settings.date_range())
    return articles[0] if articles else rejected[0]


def file_facts(source: int, path: str, settings: Settings) -> bytes:
    """Pass 1 for one file: per article only what the driver's plan needs (no text travels back)."""
    facts, count = [], 0
    for offset, item in enumerate(parse.read_file(Path(path))):
        count = offset + 1
        if isinstance(item, Rejection):
            continue
        article = _normalize_one(item, settings)
        if isinstance(article, Article):
            lines = set(pipeline.outlet_line_counts([article]).get(article.outlet, {}))
            facts.append((offset, article.id, article.url, article.digest, article.outlet, lines))
    return pickle.dumps((source, 0, count, facts))


class PlanBoard:
    """Where pass 2's tasks pick up the plan, which the driver posts once pass 1 is in (an async Ray actor)."""

    def __init__(self) -> None:
        self.plan: Plan | None = None
        self.posted = asyncio.Event()

    async def post(self, plan: Plan) -> None:
        self.plan = plan
        self.posted.set()

    async def fetch(self) -> Plan:
        await self.posted.wait()
        return self.plan


_PLANS: dict[str, Plan] = {}  # per worker process: a board's plan, fetched once


def _plan_of(plan) -> Plan:
    """The plan itself, or the one a `PlanBoard` handle will give (a task blocked here frees its CPU)."""
    if isinstance(plan, Plan):
        return plan
    import ray

    key = plan._actor_id.hex()
    if key not in _PLANS:
        _PLANS.clear()  # one job's plan at a time per worker
        _PLANS[key] = ray.get(plan.fetch.remote())
    return _PLANS[key]


def prepare_stage(batch: dict, settings: Settings, plan) -> dict:
    """Pass 2 before the model: normalise, skip known duplicates, clean with the batch's boilerplate, split."""
    plan = _plan_of(plan)
    payloads = []
    for source, start, blob in zip(batch["source"], batch["start"], batch["items"], strict=True):
        first = plan.offsets[int(source)] + int(start)
        part = Part(int(source), int(start))
        by_batch: dict[int, list[tuple[int, Article]]] = defaultdict(list)
        for offset, item in enumerate(pickle.loads(blob)):
            seq = first + offset
            if isinstance(item, Rejection):
                part.rejections.append((seq, item))
                continue
            if seq in plan.drop:
                part.dropped.append(seq)
                continue
            result = _normalize_one(item, settings)
            if isinstance(result, Rejection):
                part.rejections.append((seq, result))
            else:
                by_batch[seq // plan.batch].append((seq, result))
        for number, pairs in by_batch.items():
            seq_of = {id(a): s for s, a in pairs}
            kept, rejected = pipeline.clean([a for _, a in pairs], plan.recurring.get(number, {}))
            part.rejections += [(pairs[0][0], r) for r in rejected]  # any seq of the batch: only its batch counts
            kept, rejected = pipeline.within_limits(pipeline.split(kept))
            part.rejections += [(pairs[0][0], r) for r in rejected]
            kept = pipeline.detect_language(kept)
            part.articles += [(seq_of[id(a)], a) for a in kept]
        payloads.append(pickle.dumps(part))
    return {"part": payloads}


class EmbedStage:
    """The embed stage as a Ray actor: one model per actor, loaded once, on a GPU when the actor holds one."""

    def __init__(self, model: str, batch_size: int, threads: int, folder: str | None = None) -> None:
        import ray
        import torch
        from newsprism.engine.embed import Embedder

        if threads:
            torch.set_num_threads(threads)
        device = "cuda" if ray.get_gpu_ids() else "cpu"
        self.embedder = Embedder(model, batch_size, device=device)
        self.folder = folder  # backfill: each part becomes a Parquet shard here instead of travelling back
        self.seen: dict[str, np.ndarray] = {}  # sentence key -> vector, oldest first

    def known(self, keys: list[str]) -> dict[str, np.ndarray]:
        """Vectors this actor encoded for earlier rows: as a local ingest reuses the store's (no store here)."""
        return {k: self.seen[k] for k in keys if k in self.seen}

    def remember(self, articles: list[Article]) -> None:
        for article in articles:
            for sentence in article.sentences:
                self.seen[pipeline.sentence_key(sentence.text)] = sentence.vector
        for key in list(self.seen)[: max(0, len(self.seen) - ACTOR_CACHE)]:
            del self.seen[key]

    def __call__(self, batch: dict) -> dict:
        out = []
        for blob in batch["part"]:
            part: Part = pickle.loads(blob)
            if part.articles:
                # the writer keeps a stored vector when it has one; repeated texts come from this actor's memory
                articles, part.encoded = pipeline.embed([a for _, a in part.articles], self.embedder.encode,
                                                        self.known)
                self.remember(articles)
            if self.folder:
                write_shard(part, Path(self.folder) / part.shard_name)
                part = Part(part.source, part.start, encoded=part.encoded,
                            written=(len(part.articles), sum(len(a.sentences) for _, a in part.articles)))
            out.append(pickle.dumps(part))
        return {"part": out}


# ---- what travels: parts, the plan -------------------------------------------------------------------------


@dataclass
class Part:
    """The outcome of one input chunk: every item is exactly one of article, rejection or dropped duplicate."""

    source: int
    start: int
    articles: list[tuple[int, Article]] = field(default_factory=list)
    rejections: list[tuple[int, Rejection]] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)
    encoded: int = 0  # texts the model encoded for this part
    written: tuple[int, int] | None = None  # backfill: (articles, sentences) of the shard written in its place

    @property
    def shard_name(self) -> str:
        return f"part-{self.source:06d}-{self.start:010d}.parquet"

    def outcomes(self) -> Iterator[int]:
        yield from (s for s, _ in self.articles)
        yield from (s for s, _ in self.rejections)
        yield from self.dropped


@dataclass
class Plan:
    """The local ingest's decisions, replayed from pass 1: input positions, skips, boilerplate per batch."""

    batch: int
    offsets: dict[int, int]  # source number -> position of its first item in the whole input
    sizes: dict[int, int]  # batch number -> items in it
    drop: set[int] = field(default_factory=set)  # positions of articles the store (or this run) already holds
    recurring: dict[int, dict[str, set[str]]] = field(default_factory=dict)  # batch -> outlet -> lines
    counts: dict[int, dict[str, dict[str, int]]] = field(default_factory=dict)  # batch -> what outlet_lines gains
    early: list[tuple[int, Rejection]] = field(default_factory=list)  # paths rejected before any reading


def make_plan(sources: list[Path | Rejection], facts: Iterable[bytes], ingestor: Ingestor) -> Plan:
    """Replay, batch by batch, what `Ingestor.ingest_batch` decides before embedding."""
    batch = ingestor.settings.ingest_batch
    lengths: dict[int, int] = defaultdict(int)
    found: dict[int, list] = defaultdict(list)
    for blob in facts:
        source, start, n, rows = pickle.loads(blob)
        lengths[source] += n
        found[source] += [(start + offset, *rest) for offset, *rest in rows]
    offsets, early, position = {}, [], 0
    for number, source in enumerate(sources):
        offsets[number] = position
        if isinstance(source, Rejection):
            early.append((position, source))
            position += 1
        else:
            position += lengths[number]
    sizes = {j: min(batch, position - j * batch) for j in range((position + batch - 1) // batch)}
    plan = Plan(batch, offsets, sizes, early=early)
    per_batch: dict[int, list] = defaultdict(list)
    for source, rows in found.items():
        for offset, *rest in rows:
            seq = offsets[source] + offset
            per_batch[seq // batch].append((seq, *rest))
    held: dict[str, str] = {}  # article id -> text hash stored by an earlier batch of this run
    first_url: dict[str, str] = {}  # url -> id of the first article of this run stored under it
    prior: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    conn = ingestor.store.conn
    for number in sorted(per_batch):
        kept = []
        for seq, ext_id, url, digest, outlet, lines in sorted(per_batch[number], key=lambda r: r[0]):
            if ext_id in held:
                known = held[ext_id]
            else:
                row = Ingestor.existing(conn, Article(id=ext_id, text="", url=url))
                known = row["text_hash"] if row is not None else held.get(first_url.get(url or "", ""))
            if known == digest:
                plan.drop.add(seq)
            else:
                kept.append((ext_id, url, digest, outlet, lines))
        counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for _, _, _, outlet, lines in kept:
            for line in lines:
                counts[outlet][line] += 1
        merged = {o: {k: n + prior[o][k] for k, n in c.items()} for o, c in counts.items()}
        plan.recurring[number] = ingestor.recurring_lines(merged)
        plan.counts[number] = {o: dict(c) for o, c in counts.items()}
        for outlet, c in counts.items():
            for line, n in c.items():
                prior[outlet][line] += n
        for ext_id, url, digest, _, _ in kept:
            held[ext_id] = digest
            if url:
                first_url.setdefault(url, ext_id)
    return plan


# ---- the driver ------------------------------------------------------------------------------------------


class Regroup:
    """Parts in any order -> the local ingest's batches, released in input order once complete."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.seen: dict[int, int] = defaultdict(int)
        self.articles: dict[int, list[tuple[int, Article]]] = defaultdict(list)
        self.rejections: dict[int, list[tuple[int, Rejection]]] = defaultdict(list)
        self.dropped: dict[int, int] = defaultdict(int)
        self.next = 0
        self.add(Part(-1, 0, rejections=list(plan.early)))

    def add(self, part: Part) -> None:
        b = self.plan.batch
        for seq, article in part.articles:
            self.articles[seq // b].append((seq, article))
        for seq, rejection in part.rejections:
            self.rejections[seq // b].append((seq, rejection))
        for seq in part.dropped:
            self.dropped[seq // b] += 1
        for seq in part.outcomes():
            self.seen[seq // b] += 1

    def ready(self) -> Iterator[tuple[int, list[Article], list[Rejection], int]]:
        """(batch, articles, rejections, dropped) for every batch now complete, in input order."""
        while self.next in self.plan.sizes and self.seen[self.next] >= self.plan.sizes[self.next]:
            j = self.next
            self.next += 1
            yield (j, [a for _, a in sorted(self.articles.pop(j, []), key=lambda p: p[0])],
                   [r for _, r in sorted(self.rejections.pop(j, []), key=lambda p: p[0])], self.dropped.pop(j, 0))

    def done(self) -> bool:
        return self.next >= len(self.plan.sizes)


def sources_of(paths: Iterable[str]) -> list[Path | Rejection]:
    sources = list(parse.expand_paths(paths))
    if "-" in sources:
        raise ValueError("--engine ray reads files and folders, not stdin (-); use the local engine for a pipe")
    return sources


def _files_dataset(sources: list[Path | Rejection]):
    import ray

    rows = [{"source": i, "path": str(s)} for i, s in enumerate(sources) if not isinstance(s, Rejection)]
    chunks = ray.data.from_items(rows, override_num_blocks=max(1, len(rows))).flat_map(
        read_chunks, fn_kwargs={"chunk": CHUNK}, num_cpus=LIGHT_CPUS)
    # one chunk a block: an actor takes a block per call, so a file's chunks must not travel as one block
    return chunks.repartition(target_num_rows_per_block=1)


def _facts(sources: list[Path | Rejection], settings: Settings) -> Iterator[bytes]:
    """Pass 1 as plain Ray tasks, one a file, a few in flight (no CPU booked: pass 2's actors may hold them all)."""
    import ray

    task = ray.remote(num_cpus=0, max_retries=3)(file_facts)
    window = max(2, int(ray.cluster_resources().get("CPU", 1)))
    todo = [(i, str(s)) for i, s in enumerate(sources) if not isinstance(s, Rejection)]
    running: list = []
    while todo or running:
        while todo and len(running) < window:
            number, path = todo.pop(0)
            running.append(task.remote(number, path, settings))
        done, running = ray.wait(running, num_returns=1)
        yield ray.get(done[0])


def _plan(sources: list[Path | Rejection], ingestor: Ingestor) -> Plan:
    return make_plan(sources, _facts(sources, ingestor.settings), ingestor)


def _streamed(dataset) -> Iterator[Part]:
    """Start the dataset now, in a thread, AHEAD parts at most waiting: the driver meanwhile makes the plan.

    Closing the returned iterator (the writer failed, say) stops the thread and with it the Ray execution.
    """
    rows: queue.Queue = queue.Queue(maxsize=AHEAD)
    stop, end = threading.Event(), object()

    def hand(item) -> bool:
        while not stop.is_set():
            try:
                rows.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for row in dataset.iter_rows():
                if not hand(row["part"]):
                    return
            hand(end)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            hand(exc)

    threading.Thread(target=run, name="newsprism-ray-pass2", daemon=True).start()

    def consume() -> Iterator[Part]:
        try:
            while (item := rows.get()) is not end:
                if isinstance(item, BaseException):
                    raise item
                yield pickle.loads(item)
        finally:
            stop.set()

    return consume()


def _embedded(sources: list[Path | Rejection], plan, settings: Settings, workers: int,
              keep: Callable[[dict], bool] | None = None, folder: str | None = None):
    """Pass 2 as a lazy Ray dataset of pickled, embedded `Part`s; `plan` a Plan or a PlanBoard handle."""
    import ray

    gpus = ray.cluster_resources().get("GPU", 0)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    workers = workers or (int(gpus) if gpus else max(1, cpus))
    rows = _files_dataset(sources)
    if keep is not None:
        rows = rows.filter(keep)
    prepared = rows.map_batches(prepare_stage, batch_size=1, num_cpus=LIGHT_CPUS,
                                fn_kwargs={"settings": settings, "plan": plan})
    threads = 0 if gpus else max(1, cpus // workers)  # torch in a Ray actor would otherwise get one thread
    # actors that booked every CPU would starve the tasks that feed them (read, regroup into one chunk a
    # block, prepare: the regrouping asks a whole CPU): leave one CPU for those
    spare = 1.0 if cpus >= 2 else cpus / 2
    actor_cpus = LIGHT_CPUS if gpus else min(1.0, (cpus - spare) / workers)
    if actor_cpus <= 0:
        raise ValueError(f"{workers} workers do not fit on {cpus} CPUs")
    return prepared.map_batches(
        EmbedStage, batch_size=1, compute=ray.data.ActorPoolStrategy(size=workers),
        fn_constructor_kwargs={"model": settings.model, "batch_size": settings.batch_size, "threads": threads,
                               "folder": folder},
        num_gpus=(gpus / workers if gpus else 0), num_cpus=actor_cpus)


def _land(newsroom, parts: Iterable[Part], plan: Plan, report: IngestReport,
          progress: Callable[[int], None] | None, skip_through: int = -1,
          after_batch: Callable[[int], None] | None = None) -> IngestReport:
    """Write regrouped batches through the one ingest writer, then settle stories like a local ingest."""
    keeper = StoryKeeper(_story_params(newsroom.settings))
    ingestor = Ingestor(newsroom.store, newsroom.cache, newsroom.embedder, newsroom.settings, stories=keeper)
    regroup = Regroup(plan)
    before = newsroom.last_aid()

    def complete() -> Iterator[tuple[int, list[Article], list[Rejection], int]]:
        yield from regroup.ready()  # inputs rejected before reading may fill the first batches
        for part in parts:
            report.embedded += part.encoded
            regroup.add(part)
            yield from regroup.ready()

    newsroom.cache.ensure()
    try:
        for number, articles, rejected, dropped in complete():
            if number > skip_through:
                report.rejected.extend(rejected)
                report.duplicate += dropped
                if articles:
                    ingestor.write(articles, plan.counts.get(number, {}), report)
                if after_batch:
                    after_batch(number)
            if progress:
                progress(plan.sizes[number])
    finally:
        newsroom.cache.save()
    if not regroup.done():
        raise RuntimeError("the Ray job ended before every input came back; run it again (stored work is kept)")
    if report.stored and newsroom.settings.story_settle:
        newsroom.settle_stories(after=before)
    return report


def _story_params(settings: Settings):
    from newsprism.engine.stories import StoryParams

    return StoryParams.from_settings(settings)


def ingest(newsroom, paths: Iterable[str], workers: int = 0, address: str | None = None,
           progress: Callable[[int], None] | None = None) -> IngestReport:
    """`newsprism ingest --engine ray`: the stages on Ray, the batches landing through the local writer."""
    import ray

    sources = sources_of(paths)
    connect(address or newsroom.settings.ray_address or None)
    ingestor = Ingestor(newsroom.store, newsroom.cache, newsroom.embedder, newsroom.settings)
    board = ray.remote(num_cpus=0)(PlanBoard).remote()
    try:
        parts = _streamed(_embedded(sources, board, newsroom.settings, workers))  # starts the actors now
        plan = _plan(sources, ingestor)
        board.post.remote(plan)
        return _land(newsroom, parts, plan, IngestReport(), progress)
    finally:
        ray.kill(board)  # a job that failed before posting must not leave tasks waiting


# ---- backfill: Parquet shards, then a bulk load --------------------------------------------------------------

MANIFEST = "backfill.json"
PLAN_FILE = "plan.pickle"


def backfill(newsroom, paths: Iterable[str], out: Path, workers: int = 0, address: str | None = None,
             progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Embed into Parquet shards under `out` (resumable), then load them into the store in input order.

    `progress(phase, done, total)` is told about shards written and batches loaded.
    """
    sources = sources_of(paths)
    out.mkdir(parents=True, exist_ok=True)
    shards = out / "shards"
    shards.mkdir(exist_ok=True)
    manifest_path = out / MANIFEST
    inputs = [str(s) if not isinstance(s, Rejection) else f"rejected:{s.origin}" for s in sources]
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    if manifest and (manifest.get("inputs") != inputs or manifest.get("chunk") != CHUNK
                     or manifest.get("batch") != newsroom.settings.ingest_batch):
        raise ValueError(f"{out} holds a backfill of other inputs or settings; use another --out folder")
    connect(address or newsroom.settings.ray_address or None)
    ingestor = Ingestor(newsroom.store, newsroom.cache, newsroom.embedder, newsroom.settings)
    if (out / PLAN_FILE).exists():
        plan: Plan = pickle.loads((out / PLAN_FILE).read_bytes())
    else:
        plan = _plan(sources, ingestor)
        _atomic_write(out / PLAN_FILE, pickle.dumps(plan))
    manifest = {"inputs": inputs, "chunk": CHUNK, "batch": newsroom.settings.ingest_batch}
    _atomic_write(manifest_path, json.dumps(manifest).encode())
    expected = _expected_shards(sources, plan)
    done = {p.name for p in shards.glob("part-*.parquet")}
    todo = expected - done
    written = {"shards": len(expected), "skipped": len(expected & done), "written": 0, "articles": 0, "sentences": 0}
    if progress:
        progress("embed", written["skipped"], len(expected))
    if todo:
        def keep(row: dict) -> bool:
            return Part(int(row["source"]), int(row["start"])).shard_name in todo

        for row in _embedded(sources, plan, newsroom.settings, workers, keep=keep, folder=str(shards)).iter_rows():
            articles, sentences = pickle.loads(row["part"]).written
            written["written"] += 1
            written["articles"] += articles
            written["sentences"] += sentences
            if progress:
                progress("embed", written["skipped"] + written["written"], len(expected))
    missing = expected - {p.name for p in shards.glob("part-*.parquet")}
    if missing:
        raise RuntimeError(f"{len(missing)} shards were not written; run backfill again to finish them")

    # how far loading got is the store's to say (a batch committed there is loaded), per shard folder
    key = f"backfill:{out.resolve()}"
    loaded = int(newsroom.store.meta(key) or -1)

    def mark(number: int) -> None:
        with newsroom.store.transaction() as conn:
            newsroom.store.set_meta(key, str(number), conn)
        if progress:
            progress("load", number + 1, len(plan.sizes))

    parts = (read_shard(shards / name) for name in sorted(expected))
    report = _land(newsroom, parts, plan, IngestReport(), None, skip_through=loaded, after_batch=mark)
    return {"shards": written, "load": report.as_dict()}


def _expected_shards(sources: list[Path | Rejection], plan: Plan) -> set[str]:
    """One shard per input chunk; the plan's offsets give every file's item count."""
    names = set()
    position_end = sum(plan.sizes.values())
    numbers = sorted(plan.offsets)
    for i, number in enumerate(numbers):
        if isinstance(sources[number], Rejection):
            continue
        end = plan.offsets[numbers[i + 1]] if i + 1 < len(numbers) else position_end
        for start in range(0, end - plan.offsets[number], CHUNK):
            names.add(Part(number, start).shard_name)
    return names


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


SENTENCE_FIELDS = ("text", "position", "paragraph", "start", "end")
ARTICLE_FIELDS = ("id", "url", "title", "outlet", "published", "lang", "origin", "text", "digest")


def write_shard(part: Part, path: Path) -> None:
    """One row per input item (article, rejection or skipped duplicate); sentence vectors as float32 bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = []
    for seq, a in part.articles:
        vectors = np.vstack([s.vector for s in a.sentences]).astype(np.float32) if a.sentences else None
        rows.append({"seq": seq, "kind": "article", **{f: getattr(a, f) for f in ARTICLE_FIELDS},
                     "sentences": [{f: getattr(s, f) for f in SENTENCE_FIELDS} for s in a.sentences],
                     "dim": 0 if vectors is None else vectors.shape[1],
                     "vectors": b"" if vectors is None else vectors.tobytes()})
    rows += [{"seq": seq, "kind": "rejection", "origin": r.origin, "reason": r.reason} for seq, r in part.rejections]
    rows += [{"seq": seq, "kind": "dropped"} for seq in part.dropped]
    table = pa.Table.from_pylist(rows, schema=_shard_schema())
    table = table.replace_schema_metadata({"source": str(part.source), "start": str(part.start)})
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_shard(path: Path) -> Part:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = table.schema.metadata
    part = Part(int(meta[b"source"]), int(meta[b"start"]))
    for row in table.to_pylist():
        if row["kind"] == "dropped":
            part.dropped.append(row["seq"])
        elif row["kind"] == "rejection":
            part.rejections.append((row["seq"], Rejection(row["origin"], row["reason"])))
        else:
            vectors = np.frombuffer(row["vectors"], dtype=np.float32).reshape(-1, row["dim"] or 1)
            article = Article(**{f: row[f] for f in ARTICLE_FIELDS})
            article.sentences = [Sentence(**s, vector=vectors[i].copy()) for i, s in enumerate(row["sentences"])]
            part.articles.append((row["seq"], article))
    return part


def _shard_schema():
    import pyarrow as pa

    sentence = pa.struct([("text", pa.string()), ("position", pa.int32()), ("paragraph", pa.int32()),
                          ("start", pa.int32()), ("end", pa.int32())])
    return pa.schema([("seq", pa.int64()), ("kind", pa.string()),
                      *[(f, pa.string()) for f in ARTICLE_FIELDS], ("reason", pa.string()),
                      ("sentences", pa.list_(sentence)), ("dim", pa.int32()), ("vectors", pa.binary())])
