"""Builds the site with MkDocs and checks what nginx will serve."""
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    return out


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)


def test_every_page_is_built(site):
    assert (site / "index.html").is_file()
    assert (site / "getting-started" / "index.html").is_file()
    assert (site / "404.html").is_file()
    assert "${{ values.name }}" in (site / "index.html").read_text()


def test_internal_links_resolve(site):
    broken = []
    for page in site.rglob("*.html"):
        parser = Links()
        parser.feed(page.read_text())
        base = "/" + page.relative_to(site).as_posix()
        for link in parser.links:
            url = urlparse(urljoin(base, link))
            if url.scheme or url.netloc or link.startswith("#"):
                continue
            target = site / url.path.lstrip("/")
            if not (target.is_file() or (target / "index.html").is_file()):
                broken.append(f"{base} -> {link}")
    assert broken == []


def test_nginx_sets_security_headers_health_and_json_logs():
    conf = (ROOT / "nginx.conf").read_text()
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
                   "Referrer-Policy", "Strict-Transport-Security", "Permissions-Policy"):
        assert re.search(rf'add_header {header} ".+" always;', conf), header
    assert "location = /healthz" in conf
    assert "log_format json escape=json" in conf and "access_log /dev/stdout json;" in conf
    assert "listen 8080;" in conf
    assert conf.count("{") == conf.count("}")
