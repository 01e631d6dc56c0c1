"""The API docs page loads its scripts and styles from the package, never from a CDN, and
its content security policy allows nothing else.

The finding (issue 9, finding 10): ``/docs`` and ``/redoc`` loaded Swagger UI and ReDoc
from cdn.jsdelivr.net, so the CSP had to allow that CDN (and ``'unsafe-inline'``): a
compromised CDN could run script on the service's own origin, and the page was blank on
a clinic network without internet access. The vendored files must also be exactly the
published ones: their sha256 is checked against ``web/static/VENDORED.md``.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

import pytest

import needlewise.web
from support.service import Service

STATIC = Path(needlewise.web.__file__).parent / "static"
ROOT = Path(__file__).resolve().parents[2]


def vendored() -> dict[str, str]:
    """{path under web/static: sha256} from the table in VENDORED.md."""
    rows = re.findall(
        r"^\| `([^`]+)` \| `([0-9a-f]{64})` \|$",
        (STATIC / "VENDORED.md").read_text(),
        re.MULTILINE,
    )
    return dict(rows)


def test_every_vendored_file_is_the_published_one() -> None:
    table = vendored()
    assert "swagger-ui/swagger-ui-bundle.js" in table
    assert "swagger-ui/swagger-ui.css" in table
    assert "swagger-ui/LICENSE" in table
    for name, digest in table.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest, name
    assert "htmx/htmx.min.js" in table
    assert "signature_pad/signature_pad.umd.min.js" in table
    # and nothing is served from there that the table does not name (ours are in app/)
    served = {
        str(p.relative_to(STATIC))
        for p in STATIC.rglob("*")
        if p.is_file() and p.relative_to(STATIC).parts[0] != "app"
    }
    assert served - {"VENDORED.md"} == set(table)


def test_vendored_files_are_package_data() -> None:
    """An installed (not editable) needlewise must ship them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["needlewise"]
    for name in [*vendored(), "VENDORED.md"]:
        path = f"web/static/{name}"
        assert any(fnmatch.fnmatch(path, pattern) for pattern in patterns), path


class Assets(HTMLParser):
    """The URLs a page loads, and its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_inline = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for key in ("src", "href"):
            if found.get(key):
                self.urls.append(str(found[key]))
        self._in_inline = tag == "script" and "src" not in found

    def handle_endtag(self, tag: str) -> None:
        self._in_inline = False

    def handle_data(self, data: str) -> None:
        if self._in_inline and data.strip():
            self.inline.append(data)


def test_the_docs_page_loads_only_from_the_package(service: Service) -> None:
    page = service.client.get("/docs")
    assert page.status_code == 200
    assets = Assets()
    assets.feed(page.text)
    loaded = [url for url in assets.urls if not url.startswith("data:")]
    assert loaded, "the page loads no script or style sheet?"
    for url in loaded:
        assert url.startswith("/static/"), url  # this server, not a CDN
        response = service.client.get(url)
        assert response.status_code == 200, url
        assert response.content == (STATIC / url.removeprefix("/static/")).read_bytes(), url
    assert "/openapi.json" in page.text


def test_the_docs_policy_allows_only_this_server(service: Service) -> None:
    page = service.client.get("/docs")
    policy = page.headers["content-security-policy"]
    directives = {}
    for part in policy.split(";"):
        name, _, value = part.strip().partition(" ")
        directives[name] = value
    assert "cdn" not in policy
    assert "http:" not in policy
    assert "https:" not in policy
    assert "'unsafe-inline'" not in policy
    assert "'unsafe-eval'" not in policy
    assert directives["default-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    # the inline script that starts Swagger UI is allowed by its hash, and only it
    assets = Assets()
    assets.feed(page.text)
    assert assets.inline
    for script in assets.inline:
        digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in directives["script-src"].split()


@pytest.mark.parametrize("path", ["/redoc", "/docs/oauth2-redirect"])
def test_pages_that_would_need_a_cdn_are_not_served(service: Service, path: str) -> None:
    assert service.client.get(path).status_code == 404
