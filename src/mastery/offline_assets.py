"""The JavaScript and CSS our HTML reports load, from local copies instead of CDNs.

DVC plots and GX data docs reference CDNs, so offline they render blank or unstyled. Set-up
(`make setup`) installs the files pinned in `web/package-lock.json` into `web/node_modules`
and runs this module to write the DVC plots page template; `run_suites` calls
`localise_data_docs` on the docs it builds.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the checkout: set-up installs mastery editable
NODE_MODULES = ROOT / "web" / "node_modules"
SWAGGER_UI = NODE_MODULES / "swagger-ui-dist"  # what the model server's /docs loads (mastery.serving.docs)
# DVC's `plots.html_template` (.dvc/config): web/dvc_plots.html with its scripts inlined, so
# dvc_plots/index.html is one self-contained file wherever it is opened or copied to.
PLOTS_TEMPLATE_SOURCE = ROOT / "web" / "dvc_plots.html"
PLOTS_TEMPLATE = ROOT / ".dvc" / "offline_plots.html"

# What GX 1.24's page templates (render/view/templates/*.j2) load, and the npm copy of each.
DATA_DOCS_ASSETS = {
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/build/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite/build/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed/build/vega-embed.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/dist/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js":
        "popper.js/dist/umd/popper.min.js",
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css":
        "bootstrap/dist/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js":
        "bootstrap/dist/js/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        "bootstrap-table/dist/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js":
        "bootstrap-table/dist/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/dist/extensions/filter-control/bootstrap-table-filter-control.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker/dist/css/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker/dist/js/bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "@forevolve/bootstrap-dark/dist/css/bootstrap-prefers-dark.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        "@fortawesome/fontawesome-free/css/all.min.css",
}
FONTS = "@fortawesome/fontawesome-free/webfonts"  # what all.min.css loads, as ../webfonts/
GX_IMAGES = "https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/"  # the logo
VENDOR = Path("static") / "vendor"  # in the docs folder, beside GX's own static/images
# A local file is not the CDN's bytes (and file:// has no CORS): the hashes would block it.
INTEGRITY = re.compile(r'\s(?:integrity|crossorigin)="[^"]*"')
SCRIPT = re.compile(r'<script src="([^"]+)"></script>')

log = logging.getLogger(__name__)


def localise_data_docs(docs_dir: Path) -> None:
    """Copy the assets GX docs load into docs_dir and point every page at them.

    Without web/node_modules (set-up not run) the pages keep their CDN links: the docs are a
    by-product of validation, which must not fail for want of a stylesheet.
    """
    if not NODE_MODULES.is_dir():
        log.warning("%s is missing (run `make setup`): data docs keep their CDN links", NODE_MODULES)
        return
    vendor = Path(docs_dir) / VENDOR
    for asset in [*DATA_DOCS_ASSETS.values(), FONTS]:
        source, target = NODE_MODULES / asset, vendor / asset
        target.parent.mkdir(parents=True, exist_ok=True)
        (shutil.copytree if source.is_dir() else shutil.copy)(source, target)
    for page in Path(docs_dir).rglob("*.html"):
        page.write_text(_local_links(page.read_text(), page.parent, Path(docs_dir)))


def _local_links(html: str, page_dir: Path, docs_dir: Path) -> str:
    """The page with each CDN URL replaced by the path from page_dir to the local copy."""
    def relative(path: Path) -> str:
        return Path(os.path.relpath(path, page_dir)).as_posix()

    for url, asset in DATA_DOCS_ASSETS.items():
        html = html.replace(f'"{url}"', f'"{relative(docs_dir / VENDOR / asset)}"')
    html = html.replace(GX_IMAGES, relative(docs_dir / "static" / "images") + "/")
    return INTEGRITY.sub("", html)


def write_plots_template() -> Path:
    """Write DVC's page template: web/dvc_plots.html with each `<script src>` inlined."""
    def inline(match: re.Match) -> str:
        return f"<script>{(PLOTS_TEMPLATE_SOURCE.parent / match[1]).read_text()}</script>"

    PLOTS_TEMPLATE.write_text(SCRIPT.sub(inline, PLOTS_TEMPLATE_SOURCE.read_text()))
    return PLOTS_TEMPLATE


if __name__ == "__main__":
    print(f"wrote {write_plots_template()}")
