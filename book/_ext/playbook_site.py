"""The book's Sphinx extension: pages that load without a console error.

Three fixes, each for a message a reader's browser console showed on the built site:

- Inline scripts added after the HTML builder starts were written twice on every page (Sphinx 7 compares the
  builder's ``None`` filename with the registry's ``''``; fixed upstream in sphinx-doc/sphinx#13402, Sphinx 8.2),
  so sphinx-thebe's ``const THEBE_JS_URL`` was declared twice: "Identifier 'THEBE_JS_URL' has already been
  declared". Each page's scripts are de-duplicated before it is written.
- The widget manager (``@jupyter-widgets/html-manager``) looks for its bundled fonts next to the page
  (``notebooks/@jupyter-widgets/html-manager/dist/*.woff2``: six 404s on each widget page): its webpack public path
  is the folder of its AMD module's URL, which RequireJS derives from the module's name. A RequireJS ``paths``
  entry maps that name to the copy the site serves. (``window.__jupyter_widgets_assets_path__`` is set too late
  in the bundle for its own stylesheet's fonts.)
- The widget manager typesets labels with MathJax 2's ``MathJax.Hub.Queue``; the site serves MathJax 3, which has
  no ``Hub`` ("Cannot read properties of undefined (reading 'Queue')"). Pages with MathJax get
  ``mathjax2-compat.js``, which maps that one call to MathJax 3's ``typesetPromise``.

And one for what a reader takes away: the page's download button offers ``_sources/<page>.ipynb``, which Sphinx
copies from the source notebook, committed without outputs. Once the build has finished, each of those files is
replaced by the notebook merged with its outputs from the execution cache the build read (jupyter-cache), so the
download has the outputs the page shows.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx

MATHJAX_SHIM = "mathjax2-compat.js"
#: The AMD module folder of the widget manager's bundle (``define("@jupyter-widgets/html-manager/dist/...")``).
MANAGER = "@jupyter-widgets/html-manager/dist"


def _script_key(script: Any) -> tuple[str, int, tuple[tuple[str, str], ...]]:
    attributes = getattr(script, "attributes", {})
    return (
        str(getattr(script, "filename", script) or ""),
        int(getattr(script, "priority", 500)),
        tuple(sorted((str(k), str(v)) for k, v in attributes.items())),
    )


def _page_scripts(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    names = [str(getattr(s, "filename", s) or "") for s in scripts]
    managers = [i for i, name in enumerate(names) if name.endswith("html-manager/embed-amd.js")]
    if managers:
        # RequireJS names the widget manager's module URL, and webpack its assets' URLs, after this path
        assets = json.dumps(context["pathto"]("widgets-js/html-manager", 1))
        body = f'requirejs.config({{paths: {{"{MANAGER}": new URL({assets}, document.baseURI).href}}}});'
        count = len(scripts)
        app.add_js_file(None, body=body)  # appended to this page's scripts (the builder's list)
        if len(scripts) == count + 1:
            scripts.insert(managers[0], scripts.pop())  # after require.js, before the manager
    if any(name.endswith(str(app.config.mathjax_path)) for name in names):
        # deferred like MathJax itself and after it, so that it runs once MathJax 3 has replaced its config object
        app.add_js_file(MATHJAX_SHIM, priority=510, loading_method="defer")
    seen: set[tuple[str, int, tuple[tuple[str, str], ...]]] = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique


def _executed_downloads(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    import nbformat  # lazy: only once a build has finished
    from jupyter_cache import get_cache

    config = getattr(app.env, "mystnb_config", None)
    cache_path = getattr(config, "execution_cache_path", "") or Path(app.outdir).parent / ".jupyter_cache"
    if not Path(cache_path).is_dir():
        return
    cache = get_cache(str(cache_path))
    sources = Path(app.outdir) / "_sources"
    for target in sources.rglob("*.ipynb"):  # only pages Sphinx published; never a file the site does not link
        source = Path(app.srcdir) / target.relative_to(sources)
        if not source.is_file():
            continue
        try:  # the outputs the page shows, from the execution cache the build read them from
            _, executed = cache.merge_match_into_notebook(nbformat.read(source, as_version=4))
        except KeyError:  # not executed in this build (a partial build: book/_tools/site_check_config.py)
            continue
        nbformat.write(executed, target)


def setup(app: Sphinx) -> dict[str, Any]:
    # after myst-nb (widget scripts) and sphinx.ext.mathjax (MathJax) have added this page's scripts
    app.connect("html-page-context", _page_scripts, priority=900)
    app.connect("build-finished", _executed_downloads)
    # env_version: bump it when this file changes, so that the next build rewrites every page with the change
    return {"parallel_read_safe": True, "parallel_write_safe": True, "env_version": 3}
