"""The HTML report of a checklist run: one self-contained page that reads as a report.

Taught in the book's *Production checklists* page (``notebooks/dm_09_production_checklists.ipynb``).

A header (the checklist, the data it ran on, the overall outcome and a table of contents), then one section per
item: its outcome and message, thresholds and parameters, the summary as a key/value table, charts where a person
would rather look (coverage per slice, counts by kind, score distributions, as inline SVG), the examples as a
table and a sortable table of the flagged rows. Nothing is loaded from elsewhere: the CSS, the few lines of script
that sort tables and the charts are inline, and a Content-Security-Policy allows only them. Every string is
escaped and :func:`~playbook_lib.text.masking.masked`; the same report gives a byte-identical page.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from playbook_lib.checklist.rows import explain
from playbook_lib.checklist.run import ItemResult, Report
from playbook_lib.checks import REGISTRY
from playbook_lib.text.masking import masked

#: At most this many flagged rows per item go into the page's table (the JSON report lists more).
MAX_TABLE_ROWS = 1000
#: At most this many bars in one chart (the rest are named in a note).
MAX_BARS = 30

_OUTCOMES = ("fail", "warn", "not_evaluated", "pass")
_REFERENCE_KEYS = ("id", "ids", "row", "rows", "line", "lines", "group", "slice", "eval_line", "reason")
_QUANTILES = ("min", "p05", "p10", "p25", "median", "p50", "mean", "p75", "p90", "p95", "max")

_CSS = """
:root{--fail:#cf222e;--warn:#9a6700;--pass:#1a7f37;--not_evaluated:#6e7781;--line:#d0d7de;--soft:#f6f8fa}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;max-width:72rem;margin:2rem auto;
padding:0 1rem;line-height:1.45}
h1{margin-bottom:.2rem}h2{margin:0 0 .3rem;font-size:1.25rem}h3{font-size:1rem;margin:1.2rem 0 .4rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em}
table{border-collapse:collapse;margin:.3rem 0}td,th{border:1px solid var(--line);padding:.3rem .5rem;
text-align:left;vertical-align:top;overflow-wrap:break-word;white-space:pre-wrap}th{background:var(--soft)}
thead th{white-space:nowrap}td.text{overflow-wrap:anywhere;min-width:12rem}.nowrap{white-space:nowrap}
table.wide{width:100%}table.kv>tbody>tr>th{width:14rem;font-weight:600}
table.nested{margin:0;font-size:.92em}table.nested td,table.nested th{padding:.15rem .4rem}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.badge{display:inline-block;padding:.05rem .55rem;border-radius:1rem;color:#fff;font-weight:600;font-size:.85em;
white-space:nowrap}
.badge.fail{background:var(--fail)}.badge.warn{background:var(--warn)}.badge.pass{background:var(--pass)}
.badge.not_evaluated{background:var(--not_evaluated)}
section.item{border:1px solid var(--line);border-left:.4rem solid var(--not_evaluated);border-radius:.4rem;
padding:1rem 1.2rem;margin:1.5rem 0}
section.item.fail{border-left-color:var(--fail)}section.item.warn{border-left-color:var(--warn)}
section.item.pass{border-left-color:var(--pass)}
.meta{color:#59636e;margin:.2rem 0 .6rem}.message{font-size:1.02em;margin:.4rem 0}.none{color:#8c959f}
.note{color:#59636e;font-size:.9em;margin:.3rem 0}.metric>th,.metric>td{background:#fff8c5}
.charts{display:flex;flex-wrap:wrap;gap:1rem 2rem}figure{margin:.4rem 0}figcaption{font-size:.9em;color:#59636e}
svg text{font-family:system-ui,sans-serif;font-size:12px;fill:#1f2328}svg text.bad{fill:#cf222e;font-weight:600}
.scroll{max-height:32rem;overflow:auto}
table.sortable th button{all:unset;cursor:pointer;display:block;width:100%}
table.sortable th button:focus-visible{outline:2px solid #0969da}
table.sortable th[aria-sort=ascending] button::after{content:" \\25B2"}
table.sortable th[aria-sort=descending] button::after{content:" \\25BC"}
a{color:#0969da}
"""

# Sorts a table.sortable by the clicked column: numbers as numbers (a cell's data-v when it has one), the rest as
# text; a second click reverses. The page reads the same without it.
_SCRIPT = """
(function () {
  function key(cell) {
    var v = cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent;
    return v.trim() !== "" && isFinite(v) ? [0, Number(v)] : [1, v.toLowerCase()];
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, col) {
      th.querySelector("button").addEventListener("click", function () {
        var up = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col]), y = key(b.cells[col]);
          var c = x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0);
          return up ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
"""


def render(report: Report, data: dict[str, Any]) -> str:
    """The page for ``report``; ``data`` is its JSON report (:func:`~playbook_lib.checklist.report.to_dict`),
    which holds every string already masked; the per-row scores come from ``report`` itself."""
    anchors = [f"item-{n}-{_slug(item['id'])}" for n, item in enumerate(data["items"], 1)]
    sections = [
        _item_section(item, r, anchor) for item, r, anchor in zip(data["items"], report.items, anchors, strict=True)
    ]
    title = f"{data['checklist']}: {data['outcome']}"
    csp = (
        "default-src 'none'; base-uri 'none'; form-action 'none'; img-src data:; "
        f"style-src '{_sha256(_CSS)}'; script-src '{_sha256(_SCRIPT)}'"
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>\n"
        f"<meta http-equiv='Content-Security-Policy' content=\"{csp}\">\n"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{_t(title)}</title>\n<style>{_CSS}</style>\n</head><body>\n"
        + _header(report, data, anchors)
        + "\n".join(sections)
        + f"\n<script>{_SCRIPT}</script>\n</body></html>\n"
    )


def _t(value: Any) -> str:
    """Text for the page: masked, then escaped (quotes too, so that it is safe inside an attribute)."""
    return html.escape(masked(str(value)), quote=True)


def _sha256(source: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(masked(text))).strip("-")[:60] or "item"


def _badge(outcome: str) -> str:
    return f"<span class='badge {_t(outcome)}'>{_t(outcome.replace('_', ' '))}</span>"


def _num(value: float, digits: int = 6) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.{digits}g}"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _is_flat_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(_is_scalar(v) for v in value)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool, np.generic))


# ---------------------------------------------------------------------------------------------------- header


def _header(report: Report, data: dict[str, Any], anchors: list[str]) -> str:
    counts = data["counts"]
    tally = ", ".join(f"{int(counts[o])} {o.replace('_', ' ')}" for o in _OUTCOMES if counts.get(o))
    description = report.checklist.description.strip()
    parts = [
        f"<header><h1>{_t(data['checklist'])}</h1>",
        f"<p class='meta'>Checklist <code>{_t(data.get('checklist_path', ''))}</code></p>"
        if data.get("checklist_path")
        else "",
        f"<p>{_t(description)}</p>" if description else "",
        f"<p class='message'>Overall: {_badge(data['outcome'])} &nbsp; {len(data['items'])} items: {_t(tally)}</p></header>",
        _data_table(data["data"]),
        "<nav><h3>Contents</h3><table class='wide'><thead><tr><th class='num'>#</th><th>item</th><th>check</th>"
        "<th>outcome</th><th>result</th></tr></thead><tbody>",
    ]
    for n, (item, anchor) in enumerate(zip(data["items"], anchors, strict=True), 1):
        parts.append(
            f"<tr><td class='num'>{n}</td><td><a href='#{_t(anchor)}'>{_t(item['title'])}</a><br>"
            f"<code>{_t(item['id'])}</code></td><td class='nowrap'><code>{_t(item['check'])}</code></td>"
            f"<td>{_badge(item['outcome'])}</td><td>{_t(item['message'])}</td></tr>"
        )
    parts.append("</tbody></table></nav>\n")
    return "\n".join(p for p in parts if p)


def _data_table(described: dict[str, Any]) -> str:
    """One row per input (train, eval, traffic, golden, ...): path, format, rows, skipped rows; the plan by name."""
    rows, skipped, other = [], [], []
    for role, info in described.items():
        if not isinstance(info, dict):  # a value declared for the whole dataset (its licence, its shape)
            other.append(f"{_t(role)}: <code>{_t(info)}</code>")
            continue
        if "rows" not in info:
            other.append(f"{_t(role)}: " + ", ".join(f"{_t(k)} <code>{_t(v)}</code>" for k, v in info.items()))
            continue
        count = int(info.get("skipped_rows") or 0)
        rows.append(
            f"<tr><th>{_t(role)}</th><td><code>{_t(info.get('path', ''))}</code></td><td>{_t(info.get('format', ''))}"
            f"</td><td class='num'>{_num(info.get('rows', 0))}</td><td class='num'>{count}</td></tr>"
        )
        if info.get("skipped"):
            shown = "".join(f"<li><code>{_t(s)}</code></li>" for s in info["skipped"])
            more = f"<li>and {count - len(info['skipped'])} more</li>" if count > len(info["skipped"]) else ""
            skipped.append(
                f"<details><summary>{count} unreadable {_t(role)} rows skipped</summary><ul>{shown}{more}</ul></details>"
            )
    table = (
        "<h3>Data</h3><table><thead><tr><th>input</th><th>path</th><th>format</th><th class='num'>rows</th>"
        "<th class='num'>skipped rows</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        if rows
        else ""
    )
    return table + "".join(skipped) + "".join(f"<p>{o}</p>" for o in other)


# ---------------------------------------------------------------------------------------------------- items


def _item_section(item: dict[str, Any], r: ItemResult, anchor: str) -> str:
    metric = _metric(item["check"])
    summary = item["summary"]
    parts = [
        f"<section class='item {_t(item['outcome'])}' id='{_t(anchor)}'>",
        f"<h2>{_t(item['title'])} {_badge(item['outcome'])}</h2>",
        f"<p class='meta'><code>{_t(item['id'])}</code> &middot; check <code>{_t(item['check'])}</code>"
        + (f" &middot; section {_t(item['section'])}" if item.get("section") else "")
        + "</p>",
        f"<p class='message'>{_t(item['message'])}</p>",
        _params_table(item["params"], metric, summary),
        "<h3>Summary</h3>" + _kv_table(summary, first=metric) if summary else "",
        _charts(summary, r),
        _examples_table(item["examples"]),
        _flagged_table(r),
        "</section>",
    ]
    return "\n".join(p for p in parts if p)


def _metric(check: str) -> str:
    """The summary key the check's thresholds apply to ("" for a name not in the registry)."""
    cls = REGISTRY.get(check)
    return str(cls.metric) if cls is not None else ""


def _params_table(params: dict[str, Any], metric: str, summary: dict[str, Any]) -> str:
    """The thresholds first (with the metric they apply to and its value), then the check's other parameters."""
    rows = []
    if metric:
        value = summary.get(metric)
        rows.append(
            f"<tr class='metric'><th>metric</th><td><code>{_t(metric)}</code> = "
            f"{_value(value) if value is not None else '<span class=none>not computed</span>'}</td></tr>"
        )
    keys = [k for k in ("warn", "fail") if k in params] + sorted(k for k in params if k not in ("warn", "fail"))
    rows += [f"<tr><th>{_t(k)}</th><td>{_value(params[k])}</td></tr>" for k in keys]
    return "<h3>Thresholds and parameters</h3><table class='kv'><tbody>" + "".join(rows) + "</tbody></table>"


def _kv_table(values: dict[str, Any], first: str = "", nested: bool = False) -> str:
    keys = ([first] if first in values else []) + sorted((k for k in values if k != first), key=str)
    rows = "".join(
        f"<tr{' class=metric' if k == first and first else ''}><th>{_t(k)}</th><td>{_value(values[k])}</td></tr>"
        for k in keys
    )
    return f"<table class='{'nested' if nested else 'kv'}'><tbody>{rows}</tbody></table>"


def _value(value: Any) -> str:
    """A value of a summary, a parameter or an example as readable HTML: scalars as text, lists of scalars
    comma-separated, small flat dicts as ``key value, key value``, bigger or nested ones as nested tables."""
    if value is None:
        return "<span class='none'>none</span>"
    if _is_number(value) or isinstance(value, (bool, np.bool_)):
        return _num(value)
    if isinstance(value, str):
        return _t(value)
    if isinstance(value, (list, tuple)):
        if not value:
            return "<span class='none'>none</span>"
        if all(_is_scalar(v) for v in value):
            return ", ".join(_value(v) for v in value)
        if all(isinstance(v, (list, tuple)) and all(_is_scalar(x) for x in v) for v in value):
            return "; ".join(", ".join(_value(x) for x in v) for v in value)
        if all(isinstance(v, dict) for v in value):
            return _records_table(value, nested=True)
        return "; ".join(_value(v) for v in value)
    if isinstance(value, dict):
        if not value:
            return "<span class='none'>none</span>"
        if all(_is_scalar(v) for v in value.values()) and len(value) <= 8:
            return ", ".join(f"{_t(k)} {_value(v)}" for k, v in value.items())
        if all(_is_scalar(v) or _is_flat_list(v) for v in value.values()) and len(value) <= 8:
            return "; ".join(f"{_t(k)}: {_value(v)}" for k, v in value.items())
        if all(isinstance(v, dict) for v in value.values()):
            columns, _ = _columns(value.values())
            head = "<th></th>" + "".join(f"<th>{_t(c)}</th>" for c in columns)
            body = "".join(
                f"<tr><th>{_t(k)}</th>" + "".join(_cell(v.get(c)) for c in columns) + "</tr>" for k, v in value.items()
            )
            return f"<table class='nested'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        return _kv_table(value, nested=True)
    return _t(value)


def _cell(value: Any, text: bool = False) -> str:
    """A table cell; a number carries its full value in ``data-v`` for sorting, long text may wrap anywhere."""
    if _is_number(value):
        exact = str(int(value)) if isinstance(value, (int, np.integer)) else repr(float(value))
        return f"<td class='num' data-v='{exact}'>{_num(value)}</td>"
    return f"<td{' class=text' if text else ''}>{_value(value) if value is not None else ''}</td>"


def _columns(rows: Iterable[dict[str, Any]]) -> tuple[list[str], set[str]]:
    """The union of the rows' keys (references and the reason first, long text last, the rest by name) and which
    of them hold long text."""
    rows = list(rows)
    keys = sorted({str(k) for row in rows for k in row})
    longest = {k: max((len(str(row.get(k, ""))) for row in rows), default=0) for k in keys}
    long = {k for k in keys if longest[k] > 40}
    first = [k for k in _REFERENCE_KEYS if k in keys]
    rest = [k for k in keys if k not in first]
    return first + [k for k in rest if k not in long] + [k for k in rest if k in long], long


def _records_table(rows: Sequence[dict[str, Any]], nested: bool = False, sortable: bool = False) -> str:
    columns, long = _columns(rows)
    size = "nested" if nested else "wide" if long else ""
    cls = " ".join(c for c in (size, "sortable" if sortable else "") if c)
    head = "".join(_head(c, sortable) for c in columns)
    body = "".join("<tr>" + "".join(_cell(row.get(c), c in long) for c in columns) + "</tr>" for row in rows)
    return f"<table class='{cls}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _head(name: str, sortable: bool) -> str:
    return f"<th><button type='button'>{_t(name)}</button></th>" if sortable else f"<th>{_t(name)}</th>"


def _examples_table(examples: list[dict[str, Any]]) -> str:
    rows = [e if isinstance(e, dict) else {"example": e} for e in examples]
    if not rows:
        return ""
    return f"<h3>Examples ({len(rows)}, personal data masked)</h3>" + _records_table(rows, sortable=True)


def _detail(detail: dict[str, Any]) -> str:
    """A flagged row's details on one line: ``key value, ...``; a nested mapping as ``key: k v, k v``."""
    parts = []
    for key, value in detail.items():
        if isinstance(value, dict) and all(_is_scalar(v) for v in value.values()):
            parts.append(f"{_t(key)}: " + ", ".join(f"{_t(k)} {_value(v)}" for k, v in value.items()))
        else:
            parts.append(f"{_t(key)} {_value(value)}")
    return "; ".join(parts)


def _flagged_table(r: ItemResult) -> str:
    """Every flagged row (the first :data:`MAX_TABLE_ROWS`): its 0-based row, the line it starts on (not for
    Parquet), its score where scores differ, and why (the check's ``details`` of the row, else the reason of an
    example naming it); sortable."""
    rows = list(r.flagged_rows)
    if not rows:
        return ""
    lines = list(r.flagged_lines) if len(r.flagged_lines) == len(rows) else []
    scores = r.result.scores_at(rows)
    explained = explain(r)
    why = [explained.row(int(row)) for row in rows[:MAX_TABLE_ROWS]]
    show_details = any(detail for _, detail in why)
    show_scores = len(np.unique(scores)) > 1
    head = (
        [_head("row", True)]
        + ([_head("line", True)] if lines else [])
        + ([_head("score", True)] if show_scores else [])
        + [_head("reason", True)]
        + ([_head("detail", True)] if show_details else [])
    )
    body = []
    for n, row in enumerate(rows[:MAX_TABLE_ROWS]):
        reason, detail = why[n]
        body.append(
            "<tr>"
            + _cell(int(row))
            + (_cell(int(lines[n])) if lines else "")
            + (_cell(round(float(scores[n]), 4)) if show_scores else "")
            + f"<td>{_t(reason) if reason else '<span class=none>&mdash;</span>'}</td>"
            + (f"<td class=text>{_detail(detail)}</td>" if show_details else "")
            + "</tr>"
        )
    note = (
        f"<p class='note'>Showing the first {MAX_TABLE_ROWS} of {len(rows)} flagged rows; the JSON report "
        "(<code>--json</code>) and the flags file (<code>--flags</code>) list more.</p>"
        if len(rows) > MAX_TABLE_ROWS
        else ""
    )
    return (
        f"<h3>Flagged rows ({len(rows)})</h3><p class='note'><code>row</code> counts records from 0, <code>line</code>"
        " is where the record starts in the file. Click a column to sort.</p>"
        + note
        + "<div class='scroll'><table class='sortable'><thead><tr>"
        + "".join(head)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table></div>"
    )


# ---------------------------------------------------------------------------------------------------- charts


def _charts(summary: dict[str, Any], r: ItemResult) -> str:
    figures = [_slices_chart(summary), _groups_chart(summary)]
    for key in sorted(summary, key=str):
        value = summary[key]
        if isinstance(value, dict) and len(value) >= 2 and all(_is_number(v) for v in value.values()):
            if all(isinstance(v, (int, np.integer)) for v in value.values()) and key not in ("slices",):
                figures.append(_counts_chart(str(key), value))
            elif len(set(value) & set(_QUANTILES)) >= 3:
                figures.append(_quantiles_chart(str(key), value, summary))
    figures.append(_scores_chart(np.asarray(r.result.scores), np.asarray(r.result.flags, dtype=bool)))
    figures = [f for f in figures if f]
    return "<h3>Charts</h3><div class='charts'>" + "".join(figures) + "</div>" if figures else ""


def _figure(width: int, height: int, body: str, caption: str, label: str) -> str:
    """An inline SVG (no namespace URL needed inside HTML) with its caption; ``caption`` is HTML already."""
    return (
        f"<figure><svg width='{width}' height='{height}' viewBox='0 0 {width} {height}' role='img' "
        f"aria-label='{_t(label)}'><title>{_t(label)}</title>{body}</svg><figcaption>{caption}</figcaption></figure>"
    )


def _label(text: str, limit: int = 26) -> str:
    text = str(masked(str(text)))
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


_SERIES_COLOURS = ("#0969da", "#bf8700", "#8250df", "#1a7f37")


def _bar_chart(
    rows: list[tuple[str, list[float], bool]],
    series: list[str],
    scale: float,
    fmt: str,
    label: str,
    caption: str,
) -> str:
    """Horizontal bars, one group per row (label, one value per series, marked in red when ``bad``)."""
    rows, rest = rows[:MAX_BARS], len(rows) - MAX_BARS
    left, width, bar, gap = 190, 560, 12, 8
    group = bar * len(series) + gap
    top = 22 if len(series) > 1 else 6
    height = top + group * len(rows) + 6
    parts = []
    if len(series) > 1:
        x = left
        for s, name in enumerate(series):
            colour = _SERIES_COLOURS[s % len(_SERIES_COLOURS)]
            parts.append(f"<rect x='{x}' y='4' width='12' height='12' fill='{colour}'/>")
            parts.append(f"<text x='{x + 16}' y='14'>{_t(name)}</text>")
            x += 24 + 8 * len(name)
    span = width - left - 60
    for i, (name, values, bad) in enumerate(rows):
        y = top + i * group
        cls = " class='bad'" if bad else ""
        parts.append(
            f"<text x='{left - 6}' y='{y + group / 2 + 1:.0f}' text-anchor='end'{cls}><title>{_t(name)}</title>"
            f"{_t(_label(name))}</text>"
        )
        for s, v in enumerate(values):
            w = 0.0 if scale <= 0 else max(0.0, min(1.0, float(v) / scale)) * span
            yy = y + s * bar
            colour = _SERIES_COLOURS[s % len(_SERIES_COLOURS)]
            parts.append(f"<rect x='{left}' y='{yy}' width='{w:.1f}' height='{bar - 2}' fill='{colour}'/>")
            parts.append(f"<text x='{left + w + 4:.1f}' y='{yy + bar - 3}'>{_t(fmt.format(v))}</text>")
    parts.append(f"<line x1='{left}' y1='{top - 2}' x2='{left}' y2='{height - 4}' stroke='#8c959f'/>")
    more = f" The {rest} smallest are not drawn." if rest > 0 else ""
    return _figure(width, height, "".join(parts), caption + more, label)


def _slices_chart(summary: dict[str, Any]) -> str:
    """Coverage: each slice's share of training rows beside its share of traffic (``summary['slices']``)."""
    slices = summary.get("slices")
    if not isinstance(slices, dict) or not slices or not all(isinstance(v, dict) for v in slices.values()):
        return ""
    series = sorted({str(k) for v in slices.values() for k, x in v.items() if _is_number(x)}, key=_series_order)
    if not series:
        return ""
    missing = {str(s) for s in summary.get("missing_slices") or []}
    under = {str(s) for s in summary.get("under_covered") or []}
    order = sorted(slices, key=lambda s: (-max(float(slices[s].get(k) or 0) for k in series), str(s)))
    rows = [
        (
            str(s) + (" (missing)" if str(s) in missing else " (under-covered)" if str(s) in under else ""),
            [float(slices[s].get(k) or 0) for k in series],
            str(s) in missing or str(s) in under,
        )
        for s in order
    ]
    caption = "Share of rows per slice" + (f" by <code>{_t(summary['by'])}</code>" if "by" in summary else "")
    caption += "; missing and under-covered slices in red."
    return _bar_chart(rows, series, 1.0, "{:.0%}", "coverage per slice", caption)


def _series_order(name: str) -> tuple[int, str]:
    return ({"train": 0, "traffic": 1}.get(name, 2), name)


def _groups_chart(summary: dict[str, Any]) -> str:
    """Embedding coverage: the share of each group's traffic queries with no nearby training example."""
    groups = summary.get("groups")
    if not isinstance(groups, list) or not groups:
        return ""
    rows = [
        (
            f"{g.get('group')} ({_num(g.get('uncovered', 0))} of {_num(g.get('traffic', 0))})",
            [float(g["uncovered_share"])],
            True,
        )
        for g in groups
        if isinstance(g, dict) and _is_number(g.get("uncovered_share"))
    ]
    if not rows:
        return ""
    by = f" by <code>{_t(summary['grouped_by'])}</code>" if summary.get("grouped_by") else ""
    return _bar_chart(
        rows, ["uncovered"], 1.0, "{:.0%}", "uncovered traffic per group", f"Uncovered share of traffic{by}."
    )


def _counts_chart(key: str, counts: dict[str, Any]) -> str:
    rows = sorted(((str(k), [float(v)], False) for k, v in counts.items()), key=lambda r: (-r[1][0], r[0]))
    scale = max((r[1][0] for r in rows), default=0.0)
    return _bar_chart(rows, [key], scale, "{:.0f}", key.replace("_", " "), f"<code>{_t(key)}</code> (count).")


def _quantiles_chart(key: str, values: dict[str, Any], summary: dict[str, Any]) -> str:
    """A distribution summarised by quantiles (``min``, ``p25``, ``median``, ...) as a box on its axis, with the
    cut-off or threshold the check compared it with."""
    points = {k: float(v) for k, v in values.items() if k in _QUANTILES and _is_number(v)}
    marks = {k: float(summary[k]) for k in ("cutoff", "threshold") if _is_number(summary.get(k))}
    every = list(points.values()) + list(marks.values())
    lo, hi = (0.0, 1.0) if all(0.0 <= v <= 1.0 for v in every) else (min(every), max(every))
    width, left, right, height = 560, 20, 20, 74

    def x(v: float) -> float:
        return left + (0.5 if hi == lo else (v - lo) / (hi - lo)) * (width - left - right)

    parts = [f"<line x1='{x(lo):.1f}' y1='50' x2='{x(hi):.1f}' y2='50' stroke='#8c959f'/>"]
    for tick in np.linspace(lo, hi, 5):
        parts.append(f"<line x1='{x(tick):.1f}' y1='47' x2='{x(tick):.1f}' y2='53' stroke='#8c959f'/>")
        parts.append(f"<text x='{x(tick):.1f}' y='68' text-anchor='middle'>{_num(float(tick), 3)}</text>")
    low = points.get("p25", points.get("p10", points.get("p05", points.get("min"))))
    high = points.get("p75", points.get("p90", points.get("p95", points.get("max"))))
    if points:  # the whisker: from the lowest quantile given to the highest
        lowest, highest = min(points.values()), max(points.values())
        parts.append(f"<line x1='{x(lowest):.1f}' y1='28' x2='{x(highest):.1f}' y2='28' stroke='#0969da'/>")
    if low is not None and high is not None:
        parts.append(
            f"<rect x='{x(low):.1f}' y='18' width='{max(1.0, x(high) - x(low)):.1f}' height='20' fill='#ddf4ff' "
            "stroke='#0969da'/>"
        )
    for k, v in sorted(points.items(), key=lambda kv: kv[1]):
        thick = "3" if k in ("median", "p50") else "1"
        parts.append(
            f"<line x1='{x(v):.1f}' y1='16' x2='{x(v):.1f}' y2='40' stroke='#0969da' stroke-width='{thick}'>"
            f"<title>{_t(k)} {_num(v, 4)}</title></line>"
        )
    for k, v in marks.items():
        parts.append(
            f"<line x1='{x(v):.1f}' y1='6' x2='{x(v):.1f}' y2='46' stroke='#cf222e' stroke-dasharray='4 3' "
            f"stroke-width='2'/><text x='{x(v) + 4:.1f}' y='12' class='bad'>{_t(k)} {_num(v, 3)}</text>"
        )
    caption = f"<code>{_t(key)}</code>: " + ", ".join(
        f"{_t(k)} {_num(v, 4)}" for k, v in sorted(points.items(), key=lambda kv: kv[1])
    )
    if marks:
        caption += "; dashed: " + ", ".join(f"{_t(k)} {_num(v, 4)}" for k, v in marks.items())
    return _figure(width, height, "".join(parts), caption + ".", f"distribution of {key}")


def _scores_chart(scores: np.ndarray, flags: np.ndarray, bins: int = 20) -> str:
    """A histogram of the rows' scores in (0, 1] (1 = worst), flagged rows in red; rows scoring 0 are counted in
    the caption. Drawn only where the scores say more than flagged or not (some lie strictly between 0 and 1)."""
    if scores.size == 0 or scores.shape != flags.shape or not np.any((scores > 0) & (scores < 1)):
        return ""
    edges = np.linspace(0.0, 1.0, bins + 1)
    positive = scores > 0
    index = np.clip(np.ceil(scores[positive] * bins).astype(int) - 1, 0, bins - 1)
    flagged = np.bincount(index[flags[positive]], minlength=bins)
    other = np.bincount(index[~flags[positive]], minlength=bins)
    top = max(1, int((flagged + other).max()))
    width, left, bottom, plot = 560, 36, 40, 120
    step = (width - left - 10) / bins
    parts = [
        f"<line x1='{left}' y1='{10 + plot}' x2='{width - 10}' y2='{10 + plot}' stroke='#8c959f'/>",
        f"<text x='{left - 4}' y='18' text-anchor='end'>{top}</text>",
        f"<text x='{left - 4}' y='{10 + plot}' text-anchor='end'>0</text>",
    ]
    for b in range(bins):
        x = left + b * step
        y = 10 + plot
        for count, colour, name in ((other[b], "#8c959f", "not flagged"), (flagged[b], "#cf222e", "flagged")):
            if count:
                h = count / top * plot
                y -= h
                parts.append(
                    f"<rect x='{x + 1:.1f}' y='{y:.1f}' width='{step - 2:.1f}' height='{h:.1f}' fill='{colour}'>"
                    f"<title>{int(count)} {name}, score {edges[b]:.2f}-{edges[b + 1]:.2f}</title></rect>"
                )
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f"<text x='{left + tick * bins * step:.1f}' y='{10 + plot + 16}' text-anchor='middle'>{tick:g}</text>"
        )
    parts.append(
        f"<text x='{left + bins * step / 2:.1f}' y='{10 + plot + 32}' text-anchor='middle'>row score (1 = worst)</text>"
    )
    zero = int((~positive).sum())
    caption = (
        f"Row scores: {int(flags.sum())} flagged (red) of {scores.size} rows"
        + (f"; {zero} rows score 0 and are not drawn" if zero else "")
        + "."
    )
    return _figure(width, plot + bottom + 10, "".join(parts), caption, "distribution of row scores")
