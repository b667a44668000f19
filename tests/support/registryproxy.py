"""Test support: a small HTTP proxy in front of the real registry that can misbehave on cue."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from devstack.services import REGISTRY_ADDR

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass
class Faults:
    """What the proxy does instead of forwarding faithfully."""

    manifest_put_errors: int = 0        # answer 500 to this many manifest PUTs
    proof_put_errors: int = 0           # … to this many PUTs of a `.sig`/`.att` manifest
    mount_as_upload: bool = False       # turn cross-repository mounts into plain uploads (202)
    seen: list[str] = field(default_factory=list)


class RegistryProxy:
    """Forwards 127.0.0.1:<port> to the registry, applying Faults; use as a context manager."""

    def __init__(self, faults: Faults | None = None):
        self.faults = faults or Faults()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.faults))
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> RegistryProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(faults: Faults) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_args) -> None:
            """Quiet."""

        def _forward(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            faults.seen.append(f"{self.command} {self.path}")
            if self.command == "PUT" and "/manifests/" in parts.path \
                    and faults.manifest_put_errors > 0:
                faults.manifest_put_errors -= 1
                self._drain()
                return self._reply(500, {}, b'{"errors":[{"code":"UNKNOWN"}]}')
            if self.command == "PUT" and parts.path.endswith((".sig", ".att")) \
                    and faults.proof_put_errors > 0:
                faults.proof_put_errors -= 1
                self._drain()
                return self._reply(500, {}, b'{"errors":[{"code":"UNKNOWN"}]}')
            if "mount" in query and faults.mount_as_upload:
                query = {k: v for k, v in query.items() if k not in ("mount", "from")}
            url = f"http://{REGISTRY_ADDR}{parts.path}"
            if query:
                url += "?" + urlencode(query, doseq=True)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            body = self._drain()
            with requests.Session() as session:
                session.trust_env = False  # never through a proxy the test names: this is one
                upstream = session.request(self.command, url, data=body, headers=headers,
                                           timeout=120, allow_redirects=False)
            self._reply(upstream.status_code, upstream.headers, upstream.content)

        def _drain(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                chunks = []
                while size := int(self.rfile.readline().strip() or b"0", 16):
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
                self.rfile.readline()
                return b"".join(chunks)
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _reply(self, status: int, headers, body: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() not in HOP_HEADERS:
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(body) if self.command != "HEAD"
                                                   else headers.get("Content-Length", 0)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _forward

    return Handler
