"""The browser harness itself: it renders, waits for script-drawn text, and keeps pages offline."""

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


def test_a_page_drawn_by_a_script_is_waited_for_and_read(tab, tmp_path):
    page = tmp_path / "page.html"
    page.write_text("<body><script>setTimeout(() => document.body.append('drawn late'), 300)</script>")
    assert "drawn late" in tab.open(page, wait_for_text="drawn late").text()
    assert tab.screenshot(tmp_path / "page.png").read_bytes().startswith(b"\x89PNG")
    assert tab.blocked == [] and tab.errors == []


def test_a_server_on_this_machine_is_reached(tab, tmp_path):
    (tmp_path / "index.html").write_text("<p>served</p>")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=tmp_path)
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        tab.open(f"http://127.0.0.1:{server.server_port}/", wait_for_text="served")
        server.shutdown()
    assert tab.blocked == []


def test_requests_off_this_machine_are_blocked_and_recorded(tab, tmp_path):
    page = tmp_path / "page.html"
    page.write_text('<script src="https://cdn.example.org/lib.js"></script><p>text</p>'
                    "<script>useLib()</script>")
    tab.open(page, wait_for_text="text")
    assert tab.blocked == ["https://cdn.example.org/lib.js"]
    assert tab.errors == ["useLib is not defined"]
