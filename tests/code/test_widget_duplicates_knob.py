"""The duplicate-share explorer shows, at each share and k, the deduplication measures the library computes."""

from __future__ import annotations

import re
import statistics

from playbook_lib.ops.curate import curate
from playbook_lib.rag.retrieve import DenseRetriever
from playbook_lib.scenarios.operations import add_noisy_duplicates, context_recall, source_ids


def _cells(shown: str, row: str) -> list[str]:
    found = re.search(rf"<tr data-pb-row='{row}'>(.*?)</tr>", shown)
    assert found is not None, shown[:300]
    return re.findall(r"<td>([^<]*)</td>", found.group(1))


def test_each_setting_is_the_library_called_directly(sample_docs, embedder) -> None:
    from playbook_lib.scenarios.workload import load_workload
    from playbook_lib.widgets.duplicates_knob import duplicate_runs, duplicates_explorer, duplicates_html

    work = load_workload("")
    queries = dict(list(work.queries.items())[:4])
    explorer = duplicates_explorer(sample_docs, queries, work.qrels, embedder, share=0.3, k=3, shares=(0.0, 0.6))
    assert len(explorer) == 3 * 5 and explorer.initial() == {"duplicate_share": 0.3, "k": 3}
    for share, k in ((0.0, 3), (0.6, 3), (0.6, 1), (0.3, 5)):
        careless, curated, removed = duplicate_runs(sample_docs, queries, embedder, share, k)
        assert explorer.output(duplicate_share=share, k=k) == duplicates_html(
            careless, curated, work.qrels, removed, share, k
        )
    # the careless row, recomputed here from the library's own pieces
    noisy = add_noisy_duplicates(sample_docs, 0.6)
    hits = DenseRetriever.from_documents(noisy, embedder).retrieve_many(list(queries.values()), 3)
    distinct = statistics.mean(len({s for h in hs for s in source_ids(h)}) for hs in hits)
    recall = statistics.mean(context_recall(hs, work.qrels[q]) for q, hs in zip(queries, hits, strict=True))
    cells = _cells(explorer.output(duplicate_share=0.6, k=3), "careless")
    assert cells[:2] == [str(len(noisy)), str(len(noisy) - len(sample_docs))]
    assert cells[2] == f"{distinct:.2f}" and cells[4] == f"{recall:.3f}"
    assert _cells(explorer.output(duplicate_share=0.6, k=3), "curated")[0] == str(len(curate(noisy).kept))


def test_the_output_moves_with_the_share_and_with_k(sample_docs, embedder) -> None:
    from playbook_lib.scenarios.workload import load_workload
    from playbook_lib.widgets.duplicates_knob import duplicates_explorer

    work = load_workload("")
    queries = dict(list(work.queries.items())[:4])
    explorer = duplicates_explorer(sample_docs, queries, work.qrels, embedder, shares=(0.0, 0.6), max_k=3)
    none, many = explorer.output(duplicate_share=0.0, k=3), explorer.output(duplicate_share=0.6, k=3)
    assert _cells(none, "careless")[1] == "0" and int(_cells(many, "careless")[1]) > 0
    assert _cells(none, "careless")[3] == "0.0%"
    assert _cells(many, "curated")[1] == "0"  # curation removed every copy it was handed
    assert explorer.output(duplicate_share=0.6, k=1) != many
    assert "distinct sources in top 1" in explorer.output(duplicate_share=0.6, k=1)
