"""The web's front doors in real Chromium: no open redirect after login, no framing, and
pages that need no inline script or style."""

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

from ops.headers import CONTENT_SECURITY_POLICY
from tests.support.promotionkit import PASSWORD
from tests.support.stack import post_github


@contextmanager
def _site(html: str):
    """Another site on loopback serving one page (Chromium keeps a public or routed page
    from framing loopback whatever the headers say, so it must be a real local server)."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html.encode())

    server = ThreadingHTTPServer(("127.0.0.2", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.2:{server.server_port}/"
    finally:
        server.shutdown()


def _log_in(browser, base: str, next_path: str):
    page = browser.new_context().new_page()
    page.goto(f"{base}/login?next={quote(next_path, safe='')}")
    page.fill("input[name=username]", "carol")
    page.fill("input[name=password]", PASSWORD)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("button[type=submit]")
    return page, answer.value


def test_login_next_goes_only_to_a_local_path(web, browser):
    """Injects: next= values a browser would read as another site."""
    _app, base = web
    for hostile in ("/\t/evil.com", "//evil.com", "/\\evil.com", "https://evil.com/",
                    "/\x00/evil.com"):
        _page, answer = _log_in(browser, base, hostile)
        assert (answer.status, answer.headers["location"]) == (302, "/"), hostile
    page, answer = _log_in(browser, base, "/audit?page=2")
    assert answer.headers["location"] == "/audit?page=2"
    page.wait_for_url(f"{base}/audit?page=2")


def test_a_framed_build_page_is_refused_and_pages_load_their_style_from_a_file(
        web, browser, source_repo, secret):
    """Injects: another site framing the build page (the browser shows nothing of it)."""
    app, base = web
    build_id = post_github(app.test_client(), source_repo.payload(), secret
                           ).get_json()["builds"][0]["id"]
    page, _answer = _log_in(browser, base, f"/builds/{build_id}")
    shown = page.goto(f"{base}/builds/{build_id}")
    assert shown.status == 200
    headers = shown.headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert (headers["x-frame-options"], headers["x-content-type-options"]) == ("DENY", "nosniff")
    assert headers["referrer-policy"]
    background = page.eval_on_selector("header", "e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(22, 50, 79)"  # the stylesheet loaded under the policy

    with _site(f'<iframe src="{base}/builds/{build_id}"></iframe>') as evil:
        page.goto(evil)
    page.wait_for_timeout(500)
    framed = [f for f in page.frames if f is not page.main_frame]
    assert framed and all("Lockmaster" not in f.content() for f in framed)
