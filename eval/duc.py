"""Convert DUC 2006 / DUC 2007 (update task, sets A, B, C) clusters into the summaries benchmark's JSONL.

    python -m eval.duc --git /work/.mirror/gsandeep1241+TextSummarizer/repo --out /work/cache/summaries
    python -m eval.duc --docs duc2007_testdocs/main --out duc2007.jsonl    # a raw folder, documents only

Reads the NIST files straight out of a git mirror (`git show`), never a checkout: documents are
SGML (<DOCNO>, <DATE_TIME>, <HEADLINE>, <P>), references are the ROUGE model files. Each output line is
{id, documents: [{id, title, date, source, text}], summaries}, the shape of multiling2011_en.jsonl, with
`source` the wire the document came from (APW -> AP, NYT, XIE -> Xinhua): the judge's clusters mix
two outlets, so the product path sees real outlets. DUC 2003 and 2004 are held out and never read.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import subprocess
from pathlib import Path

WIRES = {"APW": "AP", "NYT": "NYT", "XIE": "Xinhua"}
SETS = {
    # name: (documents folder, cluster folder pattern, models folder, model file pattern)
    "duc2006": ("DUC_data/DUC2006/duc2006_docs", r"D06\d\d[A-Z]$", "DUC_data/DUC2006/NISTeval/ROUGE/models",
                r"{num}\.M\.250\.[A-Z]\.[A-Z]$"),
    # the update task's three sets of each topic (A, then the later B and C) are separate 100-word tasks
    "duc2007_update_a": ("DUC_data/DUC2007/duc2007_testdocs/update", r"D07\d\d[A-Z]/D07\d\d[A-Z]-A$",
                         "DUC_data/DUC2007/updateEval/ROUGE/models", r"{num}-A\.M\.100\.[A-Z]\.[A-Z]$"),
    "duc2007_update_b": ("DUC_data/DUC2007/duc2007_testdocs/update", r"D07\d\d[A-Z]/D07\d\d[A-Z]-B$",
                         "DUC_data/DUC2007/updateEval/ROUGE/models", r"{num}-B\.M\.100\.[A-Z]\.[A-Z]$"),
    "duc2007_update_c": ("DUC_data/DUC2007/duc2007_testdocs/update", r"D07\d\d[A-Z]/D07\d\d[A-Z]-C$",
                         "DUC_data/DUC2007/updateEval/ROUGE/models", r"{num}-C\.M\.100\.[A-Z]\.[A-Z]$"),
}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, errors="replace").stdout


def _tag(doc: str, name: str) -> str:
    match = re.search(rf"<{name}>(.*?)</{name}>", doc, re.S)
    return " ".join(html.unescape(match.group(1)).split()) if match else ""


def _date(stamp: str, docno: str) -> str | None:
    """ISO day of a document. AQUAINT stamps come as 1998-06-16, 06/16/1998 or 1998-30-06; the DOCNO
    (APW19980616.0001) carries the day too, so an odd stamp falls back to it: sorting by a raw stamp
    put 06/16/1998 before 1997."""
    if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])-\d\d", stamp[:10]):
        return stamp[:10]
    digits = re.match(r"[A-Z]+(\d{4})(\d\d)(\d\d)", docno)
    return "-".join(digits.groups()) if digits else None


def parse_doc(raw: str) -> dict:
    """One NIST document: paragraphs joined by newlines, whitespace inside a paragraph collapsed."""
    docno = _tag(raw, "DOCNO")
    body = re.search(r"<TEXT>(.*?)</TEXT>", raw, re.S)
    text = body.group(1) if body else ""
    paragraphs = re.findall(r"<P>(.*?)</P>", text, re.S) or [text]
    paragraphs = [" ".join(html.unescape(p).split()) for p in paragraphs]
    date = _date(_tag(raw, "DATE_TIME"), docno)
    return {"id": docno, "title": _tag(raw, "HEADLINE"), "date": date,
            "source": WIRES.get(docno[:3], docno[:3]), "text": "\n".join(p for p in paragraphs if p)}


def convert(repo: Path, name: str) -> list[dict]:
    docs_root, cluster_re, models_root, model_re = SETS[name]
    files = _git(repo, "ls-tree", "-r", "--name-only", "HEAD", docs_root + "/").splitlines()
    clusters: dict[str, list[str]] = {}
    for path in files:
        folder = path[len(docs_root) + 1:].rsplit("/", 1)[0]
        if re.fullmatch(cluster_re, folder):
            clusters.setdefault(folder, []).append(path)
    models = _git(repo, "ls-tree", "-r", "--name-only", "HEAD", models_root + "/").splitlines()
    topics = []
    for folder, paths in sorted(clusters.items()):
        num = folder.split("/")[0][:5]
        refs = [m for m in models if re.fullmatch(model_re.format(num=num), m.rsplit("/", 1)[1])]
        summaries = [" ".join(_git(repo, "show", f"HEAD:{m}").split()) for m in sorted(refs)]
        documents = sorted((parse_doc(_git(repo, "show", f"HEAD:{p}")) for p in paths),
                           key=lambda d: (d["date"] or "", d["id"]))
        if summaries and documents:
            topics.append({"id": folder.split("/")[-1], "documents": documents, "summaries": summaries})
    return topics


def convert_folder(root: Path) -> list[dict]:
    """A raw NIST documents folder (one sub-folder per topic, one file per document, as the DUC tarballs
    unpack), documents only: the conflicts benchmark needs no reference summaries."""
    topics = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        documents = sorted((parse_doc(f.read_text(encoding="utf-8", errors="replace"))
                            for f in folder.iterdir() if f.is_file()), key=lambda d: (d["date"] or "", d["id"]))
        if documents:
            topics.append({"id": folder.name, "documents": documents, "summaries": []})
    return topics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--git", type=Path, help="git directory holding the DUC files")
    source.add_argument("--docs", type=Path, help="a raw documents folder (topic sub-folders); --out is a file")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.docs:
        if not args.docs.is_dir():
            parser.error(f"no such folder: {args.docs}")
        topics = convert_folder(args.docs)
        with args.out.open("w", encoding="utf-8") as handle:
            for topic in topics:
                handle.write(json.dumps(topic) + "\n")
        print(f"{args.out}: {len(topics)} topics, {sum(len(t['documents']) for t in topics)} documents")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name in SETS:
        topics = convert(args.git, name)
        path = args.out / f"{name}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for topic in topics:
                handle.write(json.dumps(topic) + "\n")
        print(f"{path}: {len(topics)} topics, {sum(len(t['documents']) for t in topics)} documents, "
              f"{sum(len(t['summaries']) for t in topics)} references")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
