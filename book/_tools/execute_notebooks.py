"""Execute the book's notebooks in parallel into Jupyter Book's execution cache.

``jupyter-book build`` executes notebooks one after another; on a machine with several cores most of that time is
spent waiting. This script runs the notebooks the table of contents lists through jupyter-cache's ``local-parallel``
executor (one process per core, each notebook in its own folder as the build would) and stores the outputs in
the same cache (``_build/.jupyter_cache``), so the build that follows only reads them. Notebooks already cached
with the same code are skipped. Set ``PLAYBOOK_THREADS=1`` so the parallel kernels do not fight over the cores.

Exit code 0 when every notebook ran, 1 when one failed (its traceback is printed); the build would fail on it too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml


def toc_notebooks(toc: Path) -> list[Path]:
    """The notebooks listed in a Jupyter Book ``_toc.yml``, in reading order."""
    found: list[Path] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            file = node.get("file")
            if isinstance(file, str):
                path = toc.parent / (file if file.endswith(".ipynb") else f"{file}.ipynb")
                if path.exists():
                    found.append(path.resolve())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(toc.read_text(encoding="utf-8")))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--toc", type=Path, default=Path("_toc.yml"))
    parser.add_argument("--cache", type=Path, default=Path("_build/.jupyter_cache"))
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per cell")
    parser.add_argument("--only", nargs="*", default=None, metavar="STEM", help="execute only these notebooks")
    args = parser.parse_args(argv)

    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    cache = get_cache(str(args.cache))
    notebooks = toc_notebooks(args.toc)
    if args.only is not None:
        unknown = set(args.only) - {p.stem for p in notebooks}
        if unknown:
            print(f"execute_notebooks: not in {args.toc}: {sorted(unknown)}", file=sys.stderr)
            return 2
        notebooks = [p for p in notebooks if p.stem in args.only]
    for path in notebooks:
        cache.add_nb_to_project(str(path))
    uris = [str(p) for p in notebooks]
    result = load_executor("local-parallel", cache).run_and_cache(filter_uris=uris, timeout=args.timeout)
    failed = result.errored + result.excepted
    for uri in failed:
        record = cache.get_project_record(uri)
        print(f"notebook failed: {uri}\n{record.traceback or ''}", file=sys.stderr)
    print(
        f"executed {len(result.succeeded)} notebook(s) in parallel, {len(failed)} failed, "
        f"{len(notebooks) - len(result.succeeded) - len(failed)} already cached"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
