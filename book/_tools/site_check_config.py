"""Write a Jupyter Book config for the quick site check that ``make test`` runs.

``make test`` already executes every notebook (nbval, papermill); executing them all again for the site would
double the suite's time. The site check builds the whole book with the real ``_config.yml`` (so broken links,
table-of-contents and MyST warnings still fail under ``-W``) but executes only the pages the browser test opens.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execute_notebooks import toc_notebooks  # noqa: E402

#: The pages the browser tests open and need executed: tests/site/test_site.py's minimal-RAG page and every page
#: with controls (tests/site/test_controls.py's CONTROL_PAGES, which fails on a listed page left unexecuted).
EXECUTE = (
    "ops_06_minimal_rag",
    "dm_04_scaling",
    "dm_06_probabilistic_outputs",
    "dm_07_model_selection",
    "dm_09_production_checklists",
    "ops_03_core_components",
    "exp_06_model_collapse",
    "exp_07_provenance",
    "ops_05_rag_workflow",
    "ops_01_pipeline_overview",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, nargs="?", help="where to write the config")
    parser.add_argument("--list", action="store_true", help="print the stems it executes, one line, and exit")
    parser.add_argument("--execute", nargs="+", default=list(EXECUTE), help="notebook stems to execute")
    args = parser.parse_args(argv)
    if args.list:
        print(" ".join(args.execute))
        return 0
    if args.out is None:
        parser.error("the config's path is required")
    config = yaml.safe_load(Path("_config.yml").read_text(encoding="utf-8"))
    skip = [f"**/{p.name}" for p in toc_notebooks(Path("_toc.yml")) if p.stem not in args.execute]
    config.setdefault("execute", {})["exclude_patterns"] = skip
    # Jupyter Book resolves local extensions' folders against the config file's folder, which moves here
    extensions = config.get("sphinx", {}).get("local_extensions") or {}
    for name, folder in extensions.items():
        extensions[name] = str(Path(folder).resolve())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
