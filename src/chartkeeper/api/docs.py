"""The API docs (`/docs` Swagger UI, `/redoc` ReDoc) with their assets served from here.

FastAPI's defaults load Swagger UI and ReDoc from a CDN: a hospital network without the
internet, or one that forbids third-party scripts on a PHI system, gets a blank page. The
assets come from the `fastapi-offline` package (Swagger UI 5, which reads OpenAPI 3.1, and
ReDoc 2); nothing is copied into this repository.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import Response

from chartkeeper.errors import NotFound

ASSETS = "/docs-assets"
_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}


def install(app: FastAPI) -> None:
    """Call with FastAPI(docs_url=None, redoc_url=None): these routes replace the defaults."""
    title = f"{app.title} API"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=title,
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            oauth2_redirect_url="/docs/oauth2-redirect",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def swagger_ui_redirect():
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc():
        return get_redoc_html(
            openapi_url=app.openapi_url,
            title=title,
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    @app.get(ASSETS + "/{name}", include_in_schema=False)
    def asset(name: str):
        if name not in _TYPES:
            raise NotFound(f"no docs asset '{name[:60]}'")
        body = (files("fastapi_offline") / "static" / name).read_bytes()
        return Response(
            body, media_type=_TYPES[name], headers={"Cache-Control": "public, max-age=86400"}
        )
