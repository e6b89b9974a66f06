"""Fetch the site's JavaScript from the npm registry, so the built book loads nothing from a CDN.

Downloads the pinned tarballs of ``@jupyter-widgets/html-manager`` and ``requirejs`` (widget snapshots) and
``mathjax`` (formulas), the files ``npm pack`` fetches, checks their sha512 integrity, and unpacks the browser files
under ``_build/jsdeps``. Sphinx copies that folder to the site root through ``html_extra_path``. Needs no npm: plain
HTTPS to the registry. Idempotent.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import sys
import tarfile
import urllib.request
from pathlib import Path

REGISTRY = os.environ.get("NPM_REGISTRY", "https://registry.npmjs.org").rstrip("/")
PACKAGES = {
    # name: (tarball path under the registry, sha512 integrity from `npm view NAME@VERSION dist.integrity`)
    "html-manager": (
        "@jupyter-widgets/html-manager/-/html-manager-1.0.15.tgz",
        "5thBIV6ymNgmPVOHvzx+gGy8ZSKmSazhtGw4/c4xJDVzRhG9PTeQsRjF3FUTopvFi//SABeNz1yp47bCrJ3CQA==",
    ),
    "mathjax": (
        "mathjax/-/mathjax-3.2.2.tgz",
        "Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw==",
    ),
    "requirejs": (
        "requirejs/-/requirejs-2.3.8.tgz",
        "7/cTSLOdYkNBNJcDMWf+luFvMriVm7eYxp4BcFCsAX0wF421Vyce5SXP17c+Jd5otXKGNehIonFlyQXSowL6Mw==",
    ),
}


def fetch(url: str, integrity: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as response:
        data = response.read()
    digest = base64.b64encode(hashlib.sha512(data).digest()).decode()
    if digest != integrity:
        raise SystemExit(f"fetch_widget_js: integrity mismatch for {url}")
    return data


def main(out: Path) -> None:
    stamp = out / ".complete"
    if stamp.exists():
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, (path, integrity) in PACKAGES.items():
        data = fetch(f"{REGISTRY}/{path}", integrity)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                if not member.isfile():
                    continue
                if (
                    name == "html-manager"
                    and member.name.startswith("package/dist/")
                    and not member.name.endswith(".map")
                ):
                    target = out / "html-manager" / member.name.removeprefix("package/dist/")
                elif name == "requirejs" and member.name == "package/require.js":
                    target = out / "require.js"
                elif name == "mathjax" and (
                    member.name == "package/es5/tex-mml-chtml.js"
                    or member.name.startswith(("package/es5/output/chtml/fonts/", "package/es5/input/tex/extensions/"))
                ):
                    target = out.parent / "mathjax" / member.name.removeprefix("package/")
                else:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                extracted = tar.extractfile(member)
                assert extracted is not None
                target.write_bytes(extracted.read())
    stamp.write_text("ok\n")
    print(f"site JavaScript in {out.parent}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "_build/jsdeps/widgets-js"))
