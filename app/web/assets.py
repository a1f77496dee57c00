"""Third-party browser assets served from installed Python packages: the page works offline.

Bootstrap 5.3 comes from bootstrap-flask's bundled static files, plotly.js from the plotly
package; the Socket.IO client is vendored under ``static/vendor/``. The package directories are
found without importing the packages (plotly's import is slow and not needed to serve a file).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from flask import Blueprint, send_from_directory

VENDOR_MAX_AGE_S = 24 * 3600
# plotly.min.js (plotly 7.1.0, plotly.js 4.1) writes MapLibre's stylesheet into an inline <style>
# as it loads, unless an element with this id exists. The page draws no maps, and the
# Content-Security-Policy refuses inline style text, so the page carries an empty element with
# this id instead (the browser tests fail on any policy violation, should a new plotly change it).
PLOTLY_MAP_STYLE_ID = "9f215cf04c5486422605d13261cb87401f4e7763b6296af81e98efbc0130da53"


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"package {name!r} is not installed; it serves the page's assets")
    return Path(next(iter(spec.submodule_search_locations)))


def build_assets_blueprint() -> Blueprint:
    bootstrap_dir = package_dir("flask_bootstrap") / "static" / "bootstrap5"
    plotly_dir = package_dir("plotly") / "package_data"
    if not (bootstrap_dir / "css" / "bootstrap.min.css").is_file():
        raise RuntimeError(f"Bootstrap 5 files missing under {bootstrap_dir}")
    if not (plotly_dir / "plotly.min.js").is_file():
        raise RuntimeError(f"plotly.min.js missing under {plotly_dir}")

    assets = Blueprint("assets", __name__, url_prefix="/vendor")
    @assets.get("/bootstrap/<path:filename>")
    def bootstrap(filename: str):
        return send_from_directory(bootstrap_dir, filename, max_age=VENDOR_MAX_AGE_S)

    @assets.get("/plotly.min.js")
    def plotly():
        return send_from_directory(plotly_dir, "plotly.min.js", max_age=VENDOR_MAX_AGE_S)

    return assets
