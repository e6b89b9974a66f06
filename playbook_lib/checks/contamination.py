"""Contamination: training rows that overlap an eval/test set, exactly or by shared word 13-grams.

Taught in the book's *Dataset engineering* page (``notebooks/dm_02_dataset_engineering.ipynb``), "Clear
train/validation/test split".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from playbook_lib.checks.base import Check, CheckContext, CheckResult
from playbook_lib.checks.hashing import (
    chunks,
    concat_ranges,
    ngram_chunk,
    ngram_hashes,
    normal_hashes,
    text_chars,
    unique_sorted,
    use_native,
)
from playbook_lib.checks.registry import register
from playbook_lib.text.normal import normalise, snippet

_WORD = re.compile(r"\w+", re.UNICODE)


def ngrams(text: str, n: int) -> set[str]:
    """Word ``n``-grams of the lower-cased text (empty when it has fewer than ``n`` words)."""
    words = _WORD.findall(text.casefold())
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


@dataclass
class Overlap:
    """Which training rows overlap the eval set, and how.

    ``flags``/``scores`` per training row (score: share of the row's distinct n-grams found in the eval set, 1 for an
    exact copy); ``exact[i]`` the eval row a training row copies (or -1); ``first_eval[i]`` the first eval row it
    shares an n-gram with (or -1); ``shared[i]`` how many distinct n-grams it shares; ``hit_eval`` the eval rows hit;
    ``distinct[i]`` how many distinct n-grams a training row with a shared n-gram has (0 for the others).

    With ``pairs=True`` (:func:`overlap`), ``pairs`` holds every (training row, eval row) that share an n-gram (exact
    copies aside) as three arrays ``(train_row, eval_row, shared)``, sorted by training then eval row, ``shared`` the
    number of distinct n-grams the two share; and ``eval_distinct[j]`` the number of distinct n-grams of eval row j.
    """

    flags: np.ndarray
    scores: np.ndarray
    exact: np.ndarray
    first_eval: np.ndarray
    shared: np.ndarray
    hit_eval: set[int]
    distinct: np.ndarray | None = None
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    eval_distinct: np.ndarray | None = None


def _empty(m: int) -> Overlap:
    return Overlap(
        np.zeros(m, bool),
        np.zeros(m),
        np.full(m, -1),
        np.full(m, -1),
        np.zeros(m, np.int64),
        set(),
        np.zeros(m, np.int64),
    )


def overlap_plain(train: list[str], evals: list[str], n: int, exact: bool = True, pairs: bool = False) -> Overlap:
    """The plain-Python overlap pass: a dict of every eval n-gram (as a string) and a set per training row.

    ``exact=False`` skips the exact-copy pass (every row is looked at by n-grams); ``pairs=True`` fills ``pairs`` and
    ``eval_distinct`` (see :class:`Overlap`). The reference the vectorised :func:`overlap` is tested against, and the
    peer it is benchmarked against.
    """
    eval_exact = {normalise(t): i for i, t in enumerate(evals) if t.strip()} if exact else {}
    eval_grams: dict[str, list[int]] = {}
    eval_distinct = np.zeros(len(evals), np.int64)
    for i, t in enumerate(evals):
        grams = ngrams(t, n)
        eval_distinct[i] = len(grams)
        for g in grams:
            eval_grams.setdefault(g, []).append(i)
    m = len(train)
    out = _empty(m)
    found: list[tuple[int, int, int]] = []
    for i, t in enumerate(train):
        j = eval_exact.get(normalise(t))
        if j is not None:
            out.flags[i], out.scores[i], out.exact[i] = True, 1.0, j
            out.hit_eval.add(j)
            continue
        grams = ngrams(t, n)
        shared = [g for g in grams if g in eval_grams]
        if shared:
            rows = {k for g in shared for k in eval_grams[g]}
            out.flags[i], out.scores[i] = True, len(shared) / len(grams)
            out.distinct[i] = len(grams)  # type: ignore[index]
            out.shared[i], out.first_eval[i] = len(shared), min(rows)
            out.hit_eval.update(rows)
            if pairs:
                per_row: dict[int, int] = {}
                for g in shared:
                    for k in eval_grams[g]:
                        per_row[k] = per_row.get(k, 0) + 1
                found.extend((i, k, c) for k, c in sorted(per_row.items()))
    if pairs:
        table = np.array(found, dtype=np.int64).reshape(-1, 3)
        out.pairs = (table[:, 0].copy(), table[:, 1].copy(), table[:, 2].copy())
        out.eval_distinct = eval_distinct
    return out


def overlap(train: list[str], evals: list[str], n: int, exact: bool = True, pairs: bool = False) -> Overlap:
    """The same result as :func:`overlap_plain`, vectorised: n-grams are 64-bit hashes
    (:func:`~playbook_lib.checks.hashing.ngram_hashes`), membership is a sorted search in the eval set's hashes, and
    only rows with a hit are looked at row by row. Exact copies are found by normal-form hashes and confirmed on the
    normalised strings (skipped with ``exact=False``); ``pairs=True`` also counts the n-grams each (training row,
    eval row) pair shares (see :class:`Overlap`)."""
    out = _empty(len(train))
    if exact:
        _exact_copies(train, evals, out)
    _ngram_overlap(train, evals, n, out, pairs)
    return out


def _exact_copies(train: list[str], evals: list[str], out: Overlap) -> None:
    """Exact copies into ``out``: the last eval row with the same non-empty normal form, as in the plain version."""
    eval_norm = normal_hashes(evals)
    blank = np.array([not t.strip() for t in evals], dtype=bool)
    eval_keys = unique_sorted(eval_norm[~blank])
    train_norm = normal_hashes(train)
    maybe = np.flatnonzero(np.isin(train_norm, eval_keys))
    if maybe.size:
        candidates = {int(h) for h in train_norm[maybe].tolist()}
        by_text = {
            normalise(evals[j]): j for j in np.flatnonzero(np.isin(eval_norm, list(candidates)) & ~blank).tolist()
        }
        for i in maybe.tolist():
            j = by_text.get(normalise(train[i]))
            if j is not None:
                out.flags[i], out.scores[i], out.exact[i] = True, 1.0, j
                out.hit_eval.add(j)


def _ngram_overlap(train: list[str], evals: list[str], n: int, out: Overlap, pairs: bool) -> None:
    """Shared ``n``-grams into ``out`` for the training rows that are not exact copies already."""
    e_offsets, e_grams = ngram_hashes(evals, n)
    e_rows = np.repeat(np.arange(len(evals)), np.diff(e_offsets))
    order = np.argsort(e_grams, kind="stable")
    e_sorted, e_rows = e_grams[order], e_rows[order]
    # one entry per distinct (n-gram, eval row): a row repeating an n-gram owns it once
    distinct_entry = np.r_[True, (e_sorted[1:] != e_sorted[:-1]) | (e_rows[1:] != e_rows[:-1])][: e_sorted.size]
    e_sorted, e_rows = e_sorted[distinct_entry], e_rows[distinct_entry]
    found_pairs: list[np.ndarray] = []
    m_eval = max(len(evals), 1)
    if pairs:
        out.pairs = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        out.eval_distinct = np.bincount(e_rows, minlength=len(evals)).astype(np.int64)
    if not e_sorted.size:
        return
    # a table of the eval n-grams' top bits (about 8 slots per n-gram): a cheap necessary condition, so the sorted
    # search runs on the few train n-grams that pass it
    bits = int(min(max(16, np.ceil(np.log2(e_sorted.size * 8))), 28))
    shift = np.uint64(64 - bits)
    seen = np.zeros(1 << bits, dtype=bool)
    seen[(e_sorted >> shift).astype(np.int64)] = True
    hit_owners = []
    use_native(text_chars(train))  # loads the compiled loops for a big input; the chunks then use them
    for lo, hi in chunks(train):
        offsets, grams = ngram_chunk(train[lo:hi], n)
        hit = np.zeros(grams.size, dtype=bool)
        maybe = np.flatnonzero(seen[(grams >> shift).astype(np.int64)])
        if maybe.size:
            pos = np.minimum(np.searchsorted(e_sorted, grams[maybe]), e_sorted.size - 1)
            hit[maybe] = e_sorted[pos] == grams[maybe]
        if not hit.any():
            continue
        rows = np.repeat(np.arange(hi - lo), np.diff(offsets))
        exact = out.exact[lo:hi] >= 0
        hit &= ~exact[rows]
        hit_rows = unique_sorted(rows[hit])
        if not hit_rows.size:
            continue
        sel = np.isin(rows, hit_rows)
        r, g, h = rows[sel], grams[sel], hit[sel]
        order_rg = np.lexsort((g, r))
        r, g, h = r[order_rg], g[order_rg], h[order_rg]
        first = np.r_[True, (r[1:] != r[:-1]) | (g[1:] != g[:-1])]
        distinct = np.bincount(r[first], minlength=hi - lo)
        shared = np.bincount(r[first & h], minlength=hi - lo)
        rows_global = lo + hit_rows
        out.flags[rows_global] = True
        out.shared[rows_global] = shared[hit_rows]
        out.scores[rows_global] = shared[hit_rows] / distinct[hit_rows]
        out.distinct[rows_global] = distinct[hit_rows]  # type: ignore[index]
        # the eval rows each hit n-gram belongs to
        starts = np.searchsorted(e_sorted, g[first & h], side="left")
        stops = np.searchsorted(e_sorted, g[first & h], side="right")
        owners = e_rows[concat_ranges(starts, stops - starts)]
        owner_train = np.repeat(r[first & h], stops - starts)
        first_eval = np.full(hi - lo, np.iinfo(np.int64).max)
        np.minimum.at(first_eval, owner_train, owners)
        out.first_eval[rows_global] = first_eval[hit_rows]
        hit_owners.append(owners)
        if pairs:  # a (training row, eval row) key per distinct n-gram they share; a chunk holds all of a row's
            keys, counts = np.unique((lo + owner_train) * m_eval + owners, return_counts=True)
            found_pairs.append(np.stack([keys, counts]))
    if hit_owners:
        out.hit_eval.update(unique_sorted(np.concatenate(hit_owners)).tolist())
    if pairs and found_pairs:
        keys, counts = np.concatenate(found_pairs, axis=1)
        out.pairs = (keys // m_eval, keys % m_eval, counts)


#: The fields compared by default: the whole example, prompt and answer (chat rows carry their user turns in
#: ``instruction`` and the last assistant turn in ``output``; preference rows their ``chosen`` answer in ``output``).
DEFAULT_FIELDS = ("instruction", "input", "output")
#: The fields that make a prompt: equal normal forms of these (joined) are an exact copy of an eval item.
PROMPT_FIELDS = ("instruction", "input")
#: Fields a contamination item can compare (the text fields of the record model).
COMPARABLE_FIELDS = ("instruction", "input", "output", "messages", "chosen", "rejected")


def field_texts(records: pd.DataFrame, field: str) -> list[str] | None:
    """One string per row of ``field``: the text, or the joined ``content`` strings of a list of chat turns; ``""``
    for anything else (a number, an object, a missing value). None when no row holds any text in it."""
    if field not in records.columns:
        return None
    out = [v if isinstance(v, str) else _turns_text(v) if isinstance(v, list) else "" for v in records[field].tolist()]
    return out if any(out) else None


def _turns_text(turns: list[object]) -> str:
    parts = [t.get("content") if isinstance(t, dict) else t for t in turns]
    return "\n".join(p for p in parts if isinstance(p, str) and p)


def _joined(columns: list[list[str]], n: int) -> list[str]:
    """Per row, the non-empty texts of ``columns`` joined by newlines (as :func:`playbook_lib.data.record_text`)."""
    if not columns:
        return [""] * n
    if len(columns) == 1:
        return columns[0]
    return ["\n".join(v for v in values if v) for values in zip(*columns)]


@register
class ContaminationCheck(Check):
    """Eval examples that reappear in training data, exactly (normalised prompt) or sharing ``ngram``-word n-grams
    between any eval field and any training field.

    Compares whole examples by default (``fields``: ``instruction``, ``input`` and ``output``): every eval field's
    n-grams are looked up in every training field, so an eval answer copied into a training response, or an eval
    question quoted in one, is a leak too, not only a copied prompt.

    * A training row whose prompt (``exact_fields``, default the prompt fields among ``fields``: ``instruction`` and
      ``input``) equals an eval row's after normalisation is an exact copy.
    * Between two prompt fields (``instruction``, ``input``) one shared n-gram counts: a 13-word quote of a test
      question is the classic leak.
    * A pair with an answer field on either side counts when one training text holds at least ``min_containment``
      of the eval text's distinct n-grams (default 0.5; 0 counts any shared n-gram). Answers are formulaic: in GSM8K
      the answers that share a 13-gram with a test answer share at most 15 % of it ("First find the total number
      of ..."); in the bundled sample, assembled from template sentences, the eval answers that share a 13-gram with
      a training answer share at most 43 % with any one, but for the five exact copies (100 %) and one answer that
      repeats three of its five sentences (59 %, flagged). A copied answer shares 100 %.

    Each example names the overlapping fields as ``eval field->train field`` (``"fields": "output->output"``: the
    eval row's answer reappears in the training row's answer; ``input->output``: its input in a training answer);
    the summary counts training rows per field pair (``by_fields``). The metric ``contaminated_rate`` is the share of
    eval rows that overlap training data; training rows that overlap are flagged, with score = the share of their
    text's n-grams found in the eval row they overlap most (1 for exact copies). Not evaluated without an eval set
    (``--eval``). The n-grams are hashed vectorised (:func:`overlap`, one pass over the fields of all rows); the
    result equals the plain-Python pass :func:`overlap_plain`.
    """

    name = "contamination"
    metric = "contaminated_rate"

    def __init__(
        self,
        ngram: int = 13,
        fields: list[str] | None = None,
        exact_fields: list[str] | None = None,
        min_containment: float = 0.5,
        warn: float | None = 0.0,
        fail: float | None = 0.01,
    ) -> None:
        super().__init__(warn, fail)
        self.require(
            isinstance(ngram, int) and not isinstance(ngram, bool) and ngram >= 1,
            f"ngram must be an integer of at least 1, got {str(ngram)[:40]}",
        )
        self.require(
            isinstance(min_containment, (int, float))
            and not isinstance(min_containment, bool)
            and 0.0 <= min_containment <= 1.0,
            f"min_containment must be a number in [0, 1], got {str(min_containment)[:40]}",
        )
        self.ngram = ngram
        self.min_containment = float(min_containment)
        for option, names in (("fields", fields), ("exact_fields", exact_fields)):
            self.require(names is None or isinstance(names, (list, tuple)), f"{option} must be a list of field names")
            unknown = [f for f in names or () if f not in COMPARABLE_FIELDS]
            self.require(
                not unknown,
                f"{option}: unknown field {str(unknown[:1])[1:-1][:60]}; valid: {', '.join(COMPARABLE_FIELDS)}",
            )
            self.require(len(set(names or ())) == len(names or ()), f"{option} lists a field twice")
        self.fields = tuple(fields or DEFAULT_FIELDS)
        prompt = tuple(f for f in self.fields if f in PROMPT_FIELDS)
        self.exact_fields = tuple(exact_fields or prompt or self.fields)

    def run(self, records: pd.DataFrame, context: CheckContext) -> CheckResult:
        n = len(records)
        if context.eval is None:
            return self.not_evaluated(n, "no eval set given (--eval)")
        m = len(context.eval)
        names = tuple(dict.fromkeys(self.fields + self.exact_fields))
        train_f = {f: t for f in names if (t := field_texts(records, f)) is not None}
        eval_f = {f: t for f in names if (t := field_texts(context.eval, f)) is not None}
        # exact copies of the prompt
        train_p = _joined([train_f[f] for f in self.exact_fields if f in train_f], n)
        eval_p = _joined([eval_f[f] for f in self.exact_fields if f in eval_f], m)
        found = _empty(n)
        _exact_copies(train_p, eval_p, found)
        copies = np.flatnonzero(found.exact >= 0)
        # shared n-grams of every (train field, row) text with every (eval field, row) text, in one pass; the exact
        # copies are left out, as in :func:`overlap`
        t_names = [f for f in self.fields if f in train_f]
        e_names = [f for f in self.fields if f in eval_f]
        docs: list[str] = []
        for f in t_names:
            texts = train_f[f]
            if copies.size:
                texts = list(texts)
                for i in copies.tolist():
                    texts[i] = ""
            docs.extend(texts)
        e_docs = [t for f in e_names for t in eval_f[f]]
        grams = overlap(docs, e_docs, self.ngram, exact=False, pairs=True)
        assert grams.pairs is not None and grams.eval_distinct is not None and grams.distinct is not None
        p_doc, p_edoc, p_shared = grams.pairs
        p_tf, p_row, p_ef, p_erow = p_doc // n, p_doc % n, p_edoc // m, p_edoc % m
        prompt_t = np.array([f in PROMPT_FIELDS for f in t_names] + [False], bool)
        prompt_e = np.array([f in PROMPT_FIELDS for f in e_names] + [False], bool)
        contained = p_shared / np.maximum(grams.eval_distinct[p_edoc], 1)
        keep = (prompt_t[p_tf] & prompt_e[p_ef]) | (contained >= self.min_containment)
        p_doc, p_shared, p_tf, p_row, p_ef, p_erow = (a[keep] for a in (p_doc, p_shared, p_tf, p_row, p_ef, p_erow))
        # per training row, the pair sharing the most n-grams (the first eval row among equals)
        best = np.lexsort((p_erow, -p_shared, p_row))
        lead = best[np.r_[True, p_row[best][1:] != p_row[best][:-1]]] if best.size else best
        rows = p_row[lead]
        found.flags[rows] = True
        found.shared[rows] = p_shared[lead]
        found.first_eval[rows] = p_erow[lead]
        found.scores[rows] = p_shared[lead] / np.maximum(grams.distinct[p_doc[lead]], 1)
        found.hit_eval.update(np.unique(p_erow).tolist())
        # training rows per field pair (eval field -> train field); exact copies pair each non-empty prompt field
        # with itself
        pairs: dict[str, np.ndarray] = {}
        for f in self.exact_fields:
            if f in train_f and copies.size:
                texts = train_f[f]
                with_text = copies[np.array([bool(texts[i]) for i in copies.tolist()], bool)]
                if with_text.size:
                    pairs[f"{f}->{f}"] = with_text
        combo = np.unique((p_ef * len(t_names) + p_tf) * n + p_row)
        for key_id in np.unique(combo // n).tolist():
            ef, tf = divmod(key_id, len(t_names))
            key, rows_of_pair = f"{e_names[ef]}->{t_names[tf]}", combo[combo // n == key_id] % n
            pairs[key] = np.union1d(pairs[key], rows_of_pair) if key in pairs else rows_of_pair
        by_fields = {key: int(r.size) for key, r in pairs.items()}
        lines = records["line"].to_numpy()
        eval_lines = context.eval["line"].to_numpy()
        examples = []
        for i in np.flatnonzero(found.flags)[: self.max_examples].tolist():
            row_pairs = [key for key, r in pairs.items() if _has(r, i)]
            if found.exact[i] >= 0:
                j, reason, text = int(found.exact[i]), "exact copy", train_p[i]
            else:
                j, reason = int(found.first_eval[i]), f"{int(found.shared[i])} shared {self.ngram}-grams"
                text = train_f[row_pairs[0].split("->", 1)[1]][i] if row_pairs else train_p[i]
            examples.append(
                {
                    "line": int(lines[i]),
                    "eval_line": int(eval_lines[j]),
                    "reason": reason,
                    "fields": ", ".join(row_pairs),
                    "text": snippet(text),
                }
            )
        exact = int(copies.size)
        flagged = int(found.flags.sum())
        hit_rows = len(found.hit_eval)
        summary = {
            "train_rows": n,
            "eval_rows": m,
            "train_rows_flagged": flagged,
            "exact_copies": exact,
            "eval_rows_contaminated": hit_rows,
            "contaminated_rate": hit_rows / m if m else 0.0,
            "fields": list(self.fields),
            "by_fields": by_fields,
        }
        detail = f"{hit_rows} of {m} eval rows overlap {flagged} train rows ({exact} exact)"
        if by_fields:
            detail += "; fields " + ", ".join(f"{key} {count}" for key, count in by_fields.items())
        return self.result(found.flags, found.scores, summary, examples, detail)


def _has(sorted_rows: np.ndarray, i: int) -> bool:
    """Whether the sorted array ``sorted_rows`` holds ``i``."""
    k = int(np.searchsorted(sorted_rows, i))
    return k < sorted_rows.size and int(sorted_rows[k]) == i
