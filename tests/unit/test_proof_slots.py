"""Upload sessions opened ahead for the proofs: the proofs never wait for them."""

from __future__ import annotations

import threading

from distribution.client import RegistryError
from provenance.attach import UploadSlots


class SlowRegistry:
    """Opens sessions only once `go` is set; the third one is refused."""

    def __init__(self):
        self.go = threading.Event()
        self.opened: list[str] = []
        self.cancelled: list[str] = []

    def start_upload(self, name: str) -> str:
        self.go.wait(timeout=30)
        if len(self.opened) == 2:
            raise RegistryError("POST answered 503")
        self.opened.append(f"/v2/{name}/blobs/uploads/{len(self.opened)}")
        return self.opened[-1]

    def cancel_upload(self, url: str) -> None:
        self.cancelled.append(url)


def test_the_proofs_do_not_wait_for_sessions_still_opening_and_keep_what_was_opened():
    registry = SlowRegistry()
    slots = UploadSlots(registry, "acme/web", 4)
    assert slots.take() is None  # still opening: the blob opens its own session
    registry.go.set()
    assert slots.opened(wait=True) == registry.opened == [
        "/v2/acme/web/blobs/uploads/0", "/v2/acme/web/blobs/uploads/1"]  # then one refused
    assert slots.take() == "/v2/acme/web/blobs/uploads/0"
    slots.close().result(timeout=30)
    assert registry.cancelled == ["/v2/acme/web/blobs/uploads/1"]
    assert slots.take() is None
