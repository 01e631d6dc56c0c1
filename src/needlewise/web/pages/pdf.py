"""HTML to PDF with WeasyPrint, for the documents a patient keeps (the consent copy, the
take-home sheet). WeasyPrint is imported on first use only (it is slow to import, and the
CLI never needs it).

A document may use the files of ``web/static/`` by their ``/static/...`` paths, as the
pages do, and ``data:`` images (a drawn signature). Nothing else is fetched: no network,
no other file.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from starlette.responses import Response

from needlewise.web.openapi import STATIC

_STATIC_URL = "file:///static/"


def _fetcher() -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnly(URLFetcher):  # type: ignore[misc]
        """``/static/...`` from ``web/static``, ``data:`` URLs; nothing else."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            if url.startswith(_STATIC_URL):
                path = (STATIC / url[len(_STATIC_URL) :].split("?")[0]).resolve()
                if path.is_file() and path.is_relative_to(STATIC.resolve()):
                    # without a type WeasyPrint takes a style sheet for text/plain and
                    # drops it ("Unsupported stylesheet type")
                    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    headers = {"Content-Type": kind}
                    return URLFetcherResponse(url, body=path.read_bytes(), headers=headers)
            raise ValueError("a document may only use files of web/static and data: URLs")

    return StaticOnly()


def html_to_pdf(html: str) -> bytes:
    """``html`` (a whole document) as PDF bytes."""
    from weasyprint import HTML

    document = HTML(string=html, base_url="file:///", url_fetcher=_fetcher())
    pdf: bytes = document.write_pdf()
    return pdf


def pdf_response(pdf: bytes, filename: str) -> Response:
    """``pdf`` to download as ``filename`` (ASCII, no quotes: we name it, not the user)."""
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
