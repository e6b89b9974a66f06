"""Benchmark: the dataset-readiness checklist on generated data with planted issues (run on demand: `make bench-checks`).

Generates ``--rows`` training rows (and an eval file and a production-traffic file of 1 % as many each, at least 200)
with planted truth, written by this script from
its own synthetic vocabulary (seeded, deterministic): exact duplicates (some differing only in case and spacing),
near duplicates (word edits with Jaccard >= 0.8 on word 3-grams, plus hard negatives edited below 0.7), personal
data with look-alike decoys (card numbers failing Luhn, IBANs with a bad checksum, version strings shaped like IP
addresses, invalid SSNs, e-mail-like strings without a domain), malformed rows (broken JSON, missing or empty
fields, wrong types, control characters, mojibake, invalid JSON outputs) and eval rows copied or quoted into train.

Every stage runs in its own subprocess, which reports its wall time and its own peak RSS (``VmHWM``):

* ``floor``: read every line, ``json.loads`` it and hash its text fields (blake2b): the least any checker must do;
* ``load``: ``load_records`` of the three files alone (the record model the checks start from);
* ``checklist``: the library, as ``playbook check checklists/dataset_readiness.yaml --data --eval --traffic`` runs
  it (``load_records`` + ``run_checklist``, every item of the checklist, the embedding items with the checklist's
  ``sample`` of rows), with per-item seconds and precision/recall against the planted truth;
* ``checklist_numpy`` (at ``--peers-at`` rows): the model-free items again with the compiled loops and Hyperscan
  off (``PLAYBOOK_NATIVE=0 PLAYBOOK_REGEX=re``), to show what they buy;
* peers on the same data (at ``--peers-at`` rows, default 100k; they take minutes at 1M):
  ``datasketch`` MinHash LSH and ``rensa`` MinHash LSH (threshold 0.8, 128 permutations, Python word 3-gram
  shingling as their documentation shows), a plain Python 13-gram contamination pass, and a plain regex PII pass.

    .venv/bin/python bench/checks.py [--rows 100000 1000000] [--peers-at 100000] [--json _build/bench/checks.json]

Measured on a quiet 2-core machine (AMD EPYC, 2026-11-27; the same code's times vary by up to 1.5x between runs
on this VM: the floor below was 11.3 s on 2026-11-23):

* 1M rows: floor 8.6 s; load 9.6 s; **full checklist 106.9 s** (12.4x the floor; 484.0 s on 2026-11-23 before the
  compiled loops, Hyperscan and the 2,000-row embedding sample), **peak RSS 3.70 GB**. The two embedding items
  (2,000 sampled rows, and 2,000 of 10,000 traffic queries, MiniLM on the CPU) 50.4 s; the 14 model-free items
  47.1 s: near duplicates 12.5, formatting 9.2, PII 6.1, contamination 5.1, exact duplicates 4.9, task rules 3.0,
  splits 2.6, instruction style 2.4. Precision/recall: exact 1.000/1.000, near 0.999/1.000 (0 hard negatives),
  PII 1.000/1.000 (0 of 19,975 decoys), formatting 1.000/1.000, contamination 1.000/1.000.
* 100k rows, same run as the peers: the model-free items take 5.4 s with Numba + Hyperscan and 18.1 s with
  NumPy + ``re`` only (``PLAYBOOK_NATIVE=0 PLAYBOOK_REGEX=re``, stage ``checklist_numpy``): 3.3x (PII 11.4x,
  exact duplicates 5.5x, near duplicates 2.4x). Peers (whole process incl. reading vs the library item):
  datasketch 26.5 s vs 1.22 s (P/R 0.991/0.910 vs 0.999/1.000), rensa 7.7 s (0.988/0.982), plain 13-gram pass
  2.7 s vs 0.48 s, plain regex PII 25.8 s vs 0.61 s.
* 2026-12-03 (Intel Xeon, 2 cores, AVX-512/AMX), 100k rows, after the embedding items stopped being biased: each
  of the 2,000 sampled rows is compared with its nearest rows among up to ``corpus_sample`` 20,000 rows, and the
  2,000 sampled queries with up to 20,000 training rows, all embedded by MiniLM: **full checklist 434.0 s**
  (relevance 251.4 s, embedding coverage 172.0 s, the model-free items about 10 s), peak RSS 1.84 GB. The same
  checklist with the static embedder over every row and no sampling (stage ``checklist_static``:
  ``model: static``, ``sample``/``corpus_sample``/``train_sample`` null): **40.2 s**, peak RSS 1.09 GB; relevance
  29.0 s (99,924 rows embedded and each compared with all others, exact search), coverage 0.7 s. The 1M-row
  stages were not rerun on this code: exact all-pairs search there is 1e12 pairs (about 36 minutes at the measured
  4.6e8 pairs/s) and FAISS IVF, which :mod:`playbook_lib.checks.neighbours` switches to beyond 2e10 pairs, scans
  pairs about 30x slower, so relevance over every row of 1M would take several minutes. The static embedder is
  also the weaker detector (``bench/embedders.py``), so MiniLM stays the default.
* Why not the 30 s target: embedding 2,000 texts with MiniLM takes about 28 s on these two cores by itself, and
  loading 1M JSON rows 9-13 s; the model-free items still spend most of their time building per-row Python
  strings (joining fields, case-folding) before the compiled loops see them.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHECKLIST = ROOT / "checklists" / "dataset_readiness.yaml"
SYLLABLES = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "ta",
    "vo",
    "si",
    "pe",
    "da",
    "gu",
    "hi",
    "jo",
    "be",
    "ze",
    "fa",
    "wu",
    "ri",
    "no",
    "te",
    "sa",
    "ko",
    "li",
    "mu",
    "ve",
    "xo",
    "yi",
    "ba",
    "de",
    "go",
]


# ---------------------------------------------------------------------------------------------------------------
# data generation


def _vocabulary(rng: random.Random, size: int = 30000) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return str((10 - total % 10) % 10)


def _iban(rng: random.Random, valid: bool) -> str:
    country, bban = "DE", "".join(rng.choice("0123456789") for _ in range(18))
    numeric = int("".join(str(int(c, 36)) for c in bban + country + "00"))
    check = 98 - numeric % 97
    if not valid:
        check = (check + rng.randint(1, 90)) % 97 or 1
        check = check if check != 98 - numeric % 97 else check + 1
    return f"{country}{check:02d}{bban}"


def _pii(rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(["email", "phone", "card", "iban", "ipv4", "ssn", "api_key"])
    if kind == "email":
        return kind, f"{rng.choice(SYLLABLES)}{rng.randint(1, 999)}.{rng.choice(SYLLABLES)}@example-mail.com"
    if kind == "phone":
        return kind, f"+1 {rng.randint(200, 989)}-{rng.randint(200, 999)}-{rng.randint(1000, 9999)}"
    if kind == "card":
        body = "4" + "".join(rng.choice("0123456789") for _ in range(14))
        n = body + _luhn_digit(body)
        return kind, " ".join(n[i : i + 4] for i in range(0, 16, 4))
    if kind == "iban":
        return kind, _iban(rng, True)
    if kind == "ipv4":
        return kind, f"{rng.randint(11, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    if kind == "ssn":
        return kind, f"{rng.randint(101, 665)}-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
    key = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(16))
    return kind, f"AKIA{key}"


def _decoy(rng: random.Random) -> str:
    kind = rng.choice(["card", "iban", "version", "version4", "ssn", "email", "order"])
    if kind == "card":  # 16 digits failing Luhn
        body = "4" + "".join(rng.choice("0123456789") for _ in range(14))
        bad = str((int(_luhn_digit(body)) + rng.randint(1, 9)) % 10)
        return "order reference " + body + bad
    if kind == "iban":
        return "code " + _iban(rng, False)
    if kind == "version":
        return f"version {rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}"
    if kind == "version4":  # shaped like an IPv4 address, but an octet above 255
        return f"build {rng.randint(1, 9)}.{rng.randint(0, 9)}.{rng.randint(300, 999)}.{rng.randint(0, 99)}"
    if kind == "ssn":
        return f"form 000-{rng.randint(10, 99)}-{rng.randint(1000, 9999)}"
    if kind == "email":
        return f"user {rng.choice(SYLLABLES)}@localhost"
    return f"ticket {rng.randint(10, 99)}-{rng.randint(10, 99)}"


def _jaccard3(a: str, b: str) -> float:
    from playbook_lib.checks.uniqueness import shingles

    sa, sb = shingles(a, 3), shingles(b, 3)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


def generate(rows: int, seed: int, out: Path) -> dict[str, Any]:
    """Write ``train.jsonl``, ``eval.jsonl`` and ``truth.json`` under ``out`` (kept between runs)."""
    truth_path = out / "truth.json"
    if truth_path.is_file():
        return json.loads(truth_path.read_text())
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    vocab = _vocabulary(rng)
    weights = 1.0 / (np.arange(len(vocab)) + 20.0)
    weights /= weights.sum()
    pool = nrng.choice(len(vocab), size=rows * 130 + 100000, p=weights).tolist()
    cursor = 0

    def words(k: int) -> str:
        nonlocal cursor
        if cursor + k > len(pool):
            cursor = 0
        part = pool[cursor : cursor + k]
        cursor += k
        return " ".join(vocab[i] for i in part)

    categories = ["qa", "summarise", "rewrite", "classify", "json"]

    def base_row() -> dict[str, Any]:
        cat = rng.choice(categories)
        row: dict[str, Any] = {
            "instruction": words(rng.randint(8, 40)).capitalize() + "?",
            "input": words(rng.randint(5, 40)) if rng.random() < 0.4 else "",
            "category": cat,
            "provenance": rng.choice(["human", "synthetic", "human", "mixed"]),
            "licence": "CC-BY-4.0",
            "split": "validation" if rng.random() < 0.05 else "train",
        }
        out_words = words(rng.randint(15, 120))
        row["output"] = json.dumps({"answer": out_words}) if cat == "json" else out_words.capitalize() + "."
        return row

    n_eval = max(200, rows // 100)
    evals = [base_row() for _ in range(n_eval)]
    for e in evals:
        e["split"] = "test"
    truth: dict[str, Any] = {
        "rows": rows,
        "eval_rows": n_eval,
        "exact": [],
        "near": [],
        "near_pairs": [],
        "hard_negative": [],
        "pii": [],
        "decoy": [],
        "malformed": [],
        "unparseable": [],
        "contaminated": [],
        "eval_hit": [],
    }
    lines: list[str] = []
    clean: list[int] = []  # indices into lines of clean base rows (sources for copies)
    plan = rng.choices(
        ["base", "exact", "near", "hardneg", "pii", "decoy", "malformed", "leak", "quote"],
        weights=[88.5, 2, 3, 1, 1, 2, 0.5, 1, 1],
        k=rows,
    )
    objs: list[dict[str, Any] | None] = []
    for i, kind in enumerate(plan):
        line = i + 1
        if kind != "base" and kind in ("exact", "near", "hardneg") and len(clean) < 10:
            kind = "base"
        if kind == "base":
            obj = base_row()
            clean.append(i)
        elif kind == "exact":
            src = objs[rng.choice(clean)]
            assert src is not None
            obj = dict(src)
            if rng.random() < 0.5:
                obj["instruction"] = "  " + src["instruction"].upper().replace(" ", "  ")
            truth["exact"].append(line)
        elif kind in ("near", "hardneg"):
            j = rng.choice(clean)
            src = objs[j]
            assert src is not None
            obj = dict(src)
            is_json = src["category"] == "json"
            text_words = (json.loads(src["output"])["answer"] if is_json else src["output"]).split()
            edits = rng.randint(1, 3) if kind == "near" else max(4, len(text_words) // 4)
            for _ in range(edits):
                k = rng.randrange(len(text_words))
                text_words[k] = words(1) + "x"
            edited = " ".join(text_words)
            obj["output"] = json.dumps({"answer": edited}) if is_json else edited
            full = "\n".join(v for v in (src["instruction"], src["input"], src["output"]) if v)
            new = "\n".join(v for v in (obj["instruction"], obj["input"], obj["output"]) if v)
            sim = _jaccard3(full, new)
            if kind == "near" and sim >= 0.8:
                truth["near"].append(line)
                truth["near_pairs"].append([j + 1, line, round(sim, 4)])
            elif kind == "hardneg" and sim < 0.7:
                truth["hard_negative"].append(line)
        elif kind == "pii":
            obj = base_row()
            pii_kind, value = _pii(rng)
            field = rng.choice(["instruction", "output"]) if obj["category"] != "json" else "instruction"
            obj[field] = obj[field] + f" Contact: {value} today."
            truth["pii"].append(line)
        elif kind == "decoy":
            obj = base_row()
            field = "instruction"
            obj[field] = obj[field] + f" See {_decoy(rng)} for details."
            truth["decoy"].append(line)
        elif kind == "malformed":
            obj = base_row()
            how = rng.choice(["broken", "missing", "empty", "type", "control", "mojibake", "badjson"])
            if how == "broken":
                lines.append(json.dumps(obj)[: rng.randint(5, 40)])
                objs.append(None)
                truth["unparseable"].append(line)
                continue
            if how == "missing":
                del obj["output"]
            elif how == "empty":
                obj["instruction"] = "   "
            elif how == "type":
                obj["output"] = rng.randint(1, 10**6)
            elif how == "control":
                obj["output"] = obj["output"] + "\x07\x00"
            elif how == "mojibake":
                obj["instruction"] = obj["instruction"] + " cafÃ© rÃ©sumÃ©"
            else:
                obj["category"], obj["output"] = "json", '{"answer": "unterminated'
            truth["malformed"].append(line)
        else:  # leak / quote: an eval prompt copied or quoted into train
            e = rng.randrange(n_eval)
            obj = base_row()
            if obj["category"] != "json":  # a long answer of its own, so two leaks of one eval row are not near dups
                obj["output"] = words(rng.randint(80, 120)).capitalize() + "."
            if kind == "leak":
                obj["instruction"], obj["input"] = evals[e]["instruction"], evals[e]["input"]
            else:
                ws = evals[e]["instruction"].split()
                if len(ws) < 14:
                    obj["instruction"], obj["input"] = evals[e]["instruction"], evals[e]["input"]
                else:
                    k = rng.randrange(0, len(ws) - 13)
                    obj["instruction"] = "As asked before: " + " ".join(ws[k : k + 13]) + " - explain again."
            truth["contaminated"].append(line)
            truth["eval_hit"].append(e + 1)
        objs.append(obj)
        lines.append(json.dumps(obj, ensure_ascii=False))
    (out / "train.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "eval.jsonl").write_text("\n".join(json.dumps(e) for e in evals) + "\n", encoding="utf-8")
    truth["eval_hit"] = sorted(set(truth["eval_hit"]))
    truth_path.write_text(json.dumps(truth))
    return truth


def generate_traffic(rows: int, seed: int, out: Path) -> int:
    """Write ``traffic.jsonl`` under ``out`` (kept between runs): ``max(200, rows // 100)`` production queries drawn
    like the training instructions (same vocabulary and categories, a seed of their own, so the training data of
    an earlier run stays valid). Returns the number of queries."""
    path = out / "traffic.jsonl"
    if path.is_file():
        return sum(1 for _ in path.open(encoding="utf-8"))
    vocab = _vocabulary(random.Random(seed))
    rng = random.Random(seed + 1)
    nrng = np.random.default_rng(seed + 1)
    weights = 1.0 / (np.arange(len(vocab)) + 20.0)
    weights /= weights.sum()
    n = max(200, rows // 100)
    pool = iter(nrng.choice(len(vocab), size=n * 80, p=weights).tolist())
    queries = []
    for _ in range(n):
        instruction = " ".join(vocab[next(pool)] for _ in range(rng.randint(8, 40))).capitalize() + "?"
        text = " ".join(vocab[next(pool)] for _ in range(rng.randint(5, 40))) if rng.random() < 0.4 else ""
        queries.append(
            json.dumps(
                {
                    "instruction": instruction,
                    "input": text,
                    "category": rng.choice(["qa", "summarise", "rewrite", "classify", "json"]),
                }
            )
        )
    out.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(queries) + "\n", encoding="utf-8")
    return n


# ---------------------------------------------------------------------------------------------------------------
# stages (each in its own process)


def _read_texts(path: Path, fields: tuple[str, ...]) -> tuple[list[int], list[str]]:
    """Plain reading for the peers: json.loads per line, the text fields joined like ``record_text``."""
    lines, texts = [], []
    with path.open(encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError:
                continue
            lines.append(number)
            vals = [obj.get(f) for f in fields]
            texts.append("\n".join(v for v in vals if isinstance(v, str) and v))
    return lines, texts


def stage_floor(d: Path) -> dict[str, Any]:
    rows = 0
    with (d / "train.jsonl").open("rb") as handle:
        for raw in handle:
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError:
                continue
            text = "\n".join(str(obj.get(f) or "") for f in ("instruction", "input", "output"))
            hashlib.blake2b(text.encode(), digest_size=16).digest()
            rows += 1
    return {"rows": rows}


def stage_load(d: Path) -> dict[str, Any]:
    from playbook_lib.data import load_records

    rows = sum(len(load_records(d / name)) for name in ("train.jsonl", "eval.jsonl", "traffic.jsonl"))
    return {"rows": rows}


#: What ``checklist_static`` changes in the two embedding items: the static embedder, every row scored and
#: compared, and (no ``threshold``) the model's own coverage threshold.
STATIC = {
    "relevance": {"model": "static", "sample": None, "corpus_sample": None},
    "embedding_coverage": {"model": "static", "sample": None, "train_sample": None},
}


def stage_checklist(d: Path, model_free: bool = False, static: bool = False) -> dict[str, Any]:
    import dataclasses

    from playbook_lib.checklist.parse import parse_checklist
    from playbook_lib.checklist.run import run_checklist
    from playbook_lib.checks import CheckContext
    from playbook_lib.data import load_records

    t = time.perf_counter()
    spec = parse_checklist(CHECKLIST)
    if model_free:  # the items that embed nothing (their time does not depend on the text engines)
        spec = dataclasses.replace(
            spec, items=[i for i in spec.items if i.check not in ("relevance", "embedding_coverage")]
        )
    if static:  # the embedding items with the static embedder over every row
        spec = dataclasses.replace(
            spec,
            items=[
                dataclasses.replace(
                    i, params={**{k: v for k, v in i.params.items() if k != "threshold"}, **STATIC[i.check]}
                )
                if i.check in STATIC
                else i
                for i in spec.items
            ],
        )
    records = load_records(d / "train.jsonl")
    context = CheckContext(eval=load_records(d / "eval.jsonl"), traffic=load_records(d / "traffic.jsonl"))
    load_s = time.perf_counter() - t
    report = run_checklist(spec, records, context)
    items = {
        r.item.id: {
            "check": r.item.check,
            "seconds": round(r.seconds, 3),
            "outcome": r.result.outcome.value,
            "sampled": r.result.summary.get("sampled"),
            "search": r.result.summary.get("search"),
            "flagged": r.flagged_lines,
        }
        for r in report.items
    }
    return {"load_s": round(load_s, 3), "items": items, "rows": len(records)}


def stage_checklist_numpy(d: Path) -> dict[str, Any]:
    """The model-free items with the compiled loops and Hyperscan off (NumPy and Python's ``re`` only)."""
    os.environ["PLAYBOOK_NATIVE"] = "0"
    os.environ["PLAYBOOK_REGEX"] = "re"
    return stage_checklist(d, model_free=True)


def _clusters_from_pairs(n: int, pairs: list[tuple[int, int]]) -> list[int]:
    from playbook_lib.checks.uniqueness import _components

    if not pairs:
        return []
    a, b = np.array(pairs).T
    flagged = []
    for g in _components(n, a, b):
        flagged.extend(g[1:])
    return flagged


def stage_datasketch(d: Path) -> dict[str, Any]:
    from datasketch import MinHash, MinHashLSH

    from playbook_lib.checks.uniqueness import shingles

    lines, texts = _read_texts(d / "train.jsonl", ("instruction", "input", "output"))
    t = time.perf_counter()
    sets = [shingles(t, 3) for t in texts]
    shingle_s = time.perf_counter() - t
    hashes = MinHash.bulk(sets, num_perm=128, seed=1)
    pairs = _lsh_pairs(MinHashLSH(threshold=0.8, num_perm=128), hashes, sets)
    return {"flagged": [lines[i] for i in _clusters_from_pairs(len(texts), pairs)], "shingle_s": round(shingle_s, 3)}


def _lsh_pairs(lsh: Any, hashes: list[Any], sets: list[Any], threshold: float = 0.8) -> list[tuple[int, int]]:
    """A peer's LSH pass: query each non-empty row's MinHash against the earlier rows, keep candidates whose estimated
    Jaccard reaches ``threshold``, then insert the row (datasketch and rensa share this query/insert API)."""
    pairs = []
    for i, m in enumerate(hashes):
        if not sets[i]:
            continue
        for j in lsh.query(m):
            if m.jaccard(hashes[j]) >= threshold:
                pairs.append((j, i))
        lsh.insert(i, m)
    return pairs


def stage_rensa(d: Path) -> dict[str, Any]:
    from rensa import RMinHash, RMinHashLSH

    from playbook_lib.checks.uniqueness import shingles

    lines, texts = _read_texts(d / "train.jsonl", ("instruction", "input", "output"))
    t = time.perf_counter()
    sets = [[g.decode() for g in shingles(t, 3)] for t in texts]
    shingle_s = time.perf_counter() - t
    hashes = []
    for s in sets:
        m = RMinHash(num_perm=128, seed=42)
        m.update(s)
        hashes.append(m)
    pairs = _lsh_pairs(RMinHashLSH(threshold=0.8, num_perm=128, num_bands=16), hashes, sets)
    return {"flagged": [lines[i] for i in _clusters_from_pairs(len(texts), pairs)], "shingle_s": round(shingle_s, 3)}


def stage_contamination(d: Path) -> dict[str, Any]:
    from playbook_lib.checks.contamination import overlap_plain

    lines, train = _read_texts(d / "train.jsonl", ("instruction", "input"))
    _, evals = _read_texts(d / "eval.jsonl", ("instruction", "input"))
    found = overlap_plain(train, evals, 13)
    return {"flagged": [lines[i] for i in np.flatnonzero(found.flags).tolist()]}


def stage_pii(d: Path) -> dict[str, Any]:
    from playbook_lib.text.pii import PII_PATTERNS

    lines, texts = _read_texts(d / "train.jsonl", ("instruction", "input", "output"))
    flagged = []
    for line, text in zip(lines, texts):
        for pattern, valid in PII_PATTERNS.values():
            if any(valid is None or valid(m.group()) for m in pattern.finditer(text)):
                flagged.append(line)
                break
    return {"flagged": flagged}


STAGES = {
    "floor": stage_floor,
    "load": stage_load,
    "checklist": stage_checklist,
    "checklist_numpy": stage_checklist_numpy,
    "checklist_static": functools.partial(stage_checklist, static=True),
    "datasketch": stage_datasketch,
    "rensa": stage_rensa,
    "contamination_plain": stage_contamination,
    "pii_regex": stage_pii,
}


def _peak_rss_kb() -> float:
    """This process's peak resident set size in KiB: ``VmHWM`` (reset by ``exec``), not ``ru_maxrss``, which Linux
    carries over ``exec`` from the parent (the generator's peak would show as every stage's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def run_stage(name: str, d: Path, timeout: float) -> dict[str, Any]:
    """Run one stage in a fresh interpreter; its wall time and its own peak RSS come back with its result."""
    cmd = [sys.executable, __file__, "--stage", name, "--dir", str(d)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------------------------
# scoring


def _pr(flagged: list[int], positives: set[int], universe_negatives: set[int] | None = None) -> dict[str, float]:
    f = set(flagged)
    tp = len(f & positives)
    return {
        "precision": tp / len(f) if f else 1.0,
        "recall": tp / len(positives) if positives else 1.0,
        "flagged": len(f),
    }


def score(items_or_flags: dict[str, list[int]], truth: dict[str, Any]) -> dict[str, dict[str, float]]:
    dups = set(truth["exact"]) | set(truth["near"])
    out = {}
    if "exact_duplicates" in items_or_flags:
        out["exact_duplicates"] = _pr(items_or_flags["exact_duplicates"], set(truth["exact"]))
    if "near_duplicates" in items_or_flags:
        r = _pr(items_or_flags["near_duplicates"], dups)
        r["recall_near_only"] = len(set(items_or_flags["near_duplicates"]) & set(truth["near"])) / max(
            1, len(truth["near"])
        )
        r["hard_negatives_flagged"] = len(set(items_or_flags["near_duplicates"]) & set(truth["hard_negative"]))
        out["near_duplicates"] = r
    if "pii" in items_or_flags:
        r = _pr(items_or_flags["pii"], set(truth["pii"]))
        r["decoys_flagged"] = len(set(items_or_flags["pii"]) & set(truth["decoy"]))
        out["pii"] = r
    if "formatting" in items_or_flags:
        out["formatting"] = _pr(items_or_flags["formatting"], set(truth["malformed"]))
    if "contamination" in items_or_flags:
        out["contamination"] = _pr(items_or_flags["contamination"], set(truth["contaminated"]))
    return out


def _rss(stage: dict[str, Any]) -> str:
    return f"{stage['rss_mb'] / 1024:.2f} GB" if "rss_mb" in stage else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--peers-at",
        type=int,
        nargs="*",
        default=[100_000],
        help="sizes at which to run the peers too (they take minutes at 1M rows)",
    )
    parser.add_argument(
        "--stages",
        nargs="+",
        default=None,
        help="run only these stages (default: floor, load, checklist, checklist_static, and the peers at --peers-at)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", default=str(ROOT / "_build" / "bench" / "checks"))
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--json", default=str(ROOT / "_build" / "bench" / "checks.json"))
    parser.add_argument("--stage", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.stage:  # child process: run one stage, print one JSON line
        t = time.perf_counter()
        result = STAGES[args.stage](Path(args.dir))
        result["seconds"] = round(time.perf_counter() - t, 3)
        result["rss_mb"] = round(_peak_rss_kb() / 1024, 1)
        print(json.dumps(result))
        return

    report: dict[str, Any] = {}
    for rows in args.rows:
        d = Path(args.work) / f"rows{rows}_seed{args.seed}"
        t = time.perf_counter()
        truth = generate(rows, args.seed, d)
        n_traffic = generate_traffic(rows, args.seed, d)
        print(
            f"\n== {rows:,} rows ({d}; generated/loaded in {time.perf_counter() - t:.1f} s): "
            f"{len(truth['exact'])} exact, {len(truth['near'])} near dups, {len(truth['pii'])} PII, "
            f"{len(truth['decoy'])} decoys, {len(truth['malformed']) + len(truth['unparseable'])} malformed, "
            f"{len(truth['contaminated'])} leaked; {n_traffic} traffic queries",
            flush=True,
        )
        stages = ["floor", "load", "checklist", "checklist_static"]
        if rows in args.peers_at:
            stages += ["checklist_numpy", "datasketch", "rensa", "contamination_plain", "pii_regex"]
        if args.stages:
            stages = [s for s in args.stages if s in STAGES]
        results = {}
        for name in stages:
            results[name] = run_stage(name, d, args.timeout)
            r = results[name]
            print(f"  {name:20s} {r.get('seconds', float('nan')):8.1f} s  {_rss(r)}  {r.get('error', '')}", flush=True)
        floor = results.get("floor", {}).get("seconds", float("nan"))
        lib = results.get("checklist", {})
        flags = {item["check"]: item["flagged"] for item in lib.get("items", {}).values()}
        quality = score(flags, truth)
        print(
            ""
            if not lib
            else f"\n  full checklist: {lib.get('seconds', float('nan')):.1f} s ({lib.get('seconds', 0) / floor:.1f}x the "
            f"parse+hash floor of {floor:.1f} s), peak RSS {_rss(lib)}; load {lib.get('load_s', 0):.1f} s"
        )
        for item_id, item in lib.get("items", {}).items():
            sampled = f"  (sampled: {item['sampled']})" if item.get("sampled") else ""
            print(f"    {item_id:28s} {item['seconds']:7.2f} s  {item['outcome']}{sampled}")
        static = results.get("checklist_static", {})
        if "items" in static:
            print(
                f"\n  checklist with the static embedder over every row: {static['seconds']:.1f} s, peak RSS "
                f"{_rss(static)}"
            )
            for item_id, item in static["items"].items():
                if item["check"] in STATIC:
                    extra = f"  flagged {len(item['flagged'])}; search: {item.get('search')}"
                    print(f"    {item_id:28s} {item['seconds']:7.2f} s  {item['outcome']}{extra}")
        if "checklist_numpy" in results and "items" in results["checklist_numpy"]:
            plain = results["checklist_numpy"]["items"]
            fast_s = sum(lib["items"][k]["seconds"] for k in plain)
            plain_s = sum(v["seconds"] for v in plain.values())
            print(
                f"\n  model-free items with NumPy + re only (PLAYBOOK_NATIVE=0 PLAYBOOK_REGEX=re): {plain_s:.1f} s vs "
                f"{fast_s:.1f} s with Numba + Hyperscan ({plain_s / fast_s:.1f}x)"
            )
            for item_id, item in plain.items():
                if item["seconds"] >= 0.5:
                    print(f"    {item_id:28s} {item['seconds']:7.2f} s vs {lib['items'][item_id]['seconds']:6.2f} s")
        print("\n  per-check precision / recall against the planted truth (library):")
        for check, r in quality.items():
            extra = {k: v for k, v in r.items() if k not in ("precision", "recall", "flagged")}
            print(f"    {check:18s} P {r['precision']:.3f}  R {r['recall']:.3f}  flagged {r['flagged']}  {extra}")
        peers = {}
        lib_items = {item["check"]: item["seconds"] for item in lib.get("items", {}).values()}
        for name, check in (
            ("datasketch", "near_duplicates"),
            ("rensa", "near_duplicates"),
            ("contamination_plain", "contamination"),
            ("pii_regex", "pii"),
        ):
            if name not in results:
                continue
            r = results[name]
            q = score({check: r.get("flagged", [])}, truth)[check] if "flagged" in r else {}
            peers[name] = {
                "seconds": r.get("seconds"),
                "rss_mb": r.get("rss_mb"),
                "quality": q,
                "library_item_s": lib_items.get(check),
                "error": r.get("error"),
            }
        if peers:
            print("\n  peers on the same data (whole process incl. reading; library = that checklist item's time):")
            print(f"    {'peer':20s} {'seconds':>8s} {'peak RSS':>9s} {'library':>8s} {'ratio':>7s}  quality")
            for name, p in peers.items():
                ratio = p["seconds"] / p["library_item_s"] if p["seconds"] and p["library_item_s"] else float("nan")
                q = p["quality"]
                qtext = (
                    f"P {q.get('precision', float('nan')):.3f} R {q.get('recall', float('nan')):.3f}"
                    if q
                    else p["error"]
                )
                print(
                    f"    {name:20s} {p['seconds'] or float('nan'):8.1f} {_rss(p):>9s} "
                    f"{p['library_item_s'] or float('nan'):8.2f} {ratio:6.1f}x  {qtext}"
                )
        for r in results.values():
            r.pop("flagged", None)
            for item in r.get("items", {}).values():
                item["flagged"] = len(item["flagged"])
        report[str(rows)] = {"stages": results, "quality": quality, "peers": peers}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2, sort_keys=True))
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
