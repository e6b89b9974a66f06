"""Write a Jupyter Book config for a partial build: every page, but only some of them executed.

For working on a few pages without executing the whole book (``make book`` does, and ``make test`` checks that
build): the partial build has the real ``_config.yml`` (so broken links, table-of-contents and MyST warnings still
fail under ``-W``) but executes only the pages named, e.g. the ones whose controls you are changing::

    python book/_tools/site_check_config.py _build/site-dev/_config.yml --execute ops_06_minimal_rag
    python book/_tools/execute_notebooks.py --cache _build/site-dev/_build/.jupyter_cache --only ops_06_minimal_rag
    jupyter-book build . --path-output _build/site-dev --config _build/site-dev/_config.yml -W --keep-going -q
    PLAYBOOK_SITE=_build/site-dev/_build/html pytest tests/site/test_controls.py -k ops_06

Exit code 0 when the config was written, 2 (one line on stderr) for a stem not in ``_toc.yml``, an output path that
is the book's own ``_config.yml``, or one that cannot be written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execute_notebooks import toc_notebooks  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="where to write the config")
    parser.add_argument("--execute", nargs="+", required=True, metavar="STEM", help="notebook stems to execute")
    args = parser.parse_args(argv)
    notebooks = toc_notebooks(Path("_toc.yml"))
    unknown = sorted(set(args.execute) - {p.stem for p in notebooks})
    if unknown:
        print(f"site_check_config: not in _toc.yml: {unknown}", file=sys.stderr)
        return 2
    if args.out.resolve() == Path("_config.yml").resolve():
        print("site_check_config: refusing to overwrite the book's own _config.yml", file=sys.stderr)
        return 2
    config = yaml.safe_load(Path("_config.yml").read_text(encoding="utf-8"))
    skip = [f"**/{p.name}" for p in notebooks if p.stem not in args.execute]
    config.setdefault("execute", {})["exclude_patterns"] = skip
    # Jupyter Book resolves local extensions' folders against the config file's folder, which moves here
    extensions = config.get("sphinx", {}).get("local_extensions") or {}
    for name, folder in extensions.items():
        extensions[name] = str(Path(folder).resolve())
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    except OSError as error:
        print(f"site_check_config: cannot write {args.out}: {error.strerror or error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
