"""`/docs` from the Swagger UI that set-up installs (`web/node_modules`), not from a CDN, so
the typed schemas show offline. Without those files (an install without `make setup`), it
falls back to FastAPI's page, which loads Swagger UI from a CDN."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles

from mastery.offline_assets import SWAGGER_UI

ASSETS = "/docs-assets"


def add_docs(app: FastAPI) -> None:
    """Add `/docs` to an app made with `docs_url=None`."""
    local = (SWAGGER_UI / "swagger-ui-bundle.js").is_file()
    files = {}
    if local:
        app.mount(ASSETS, StaticFiles(directory=SWAGGER_UI), name="docs-assets")
        files = {"swagger_js_url": f"{ASSETS}/swagger-ui-bundle.js", "swagger_css_url": f"{ASSETS}/swagger-ui.css",
                 "swagger_favicon_url": f"{ASSETS}/favicon-32x32.png"}
    else:
        logging.getLogger("mastery.serving").warning("%s is missing (`make setup`): /docs loads Swagger UI from a CDN", SWAGGER_UI)

    @app.get("/docs", include_in_schema=False)
    def docs():
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} - docs", **files)
