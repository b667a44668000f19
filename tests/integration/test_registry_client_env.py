"""The registry client reads the environment once (not requests, on every request), and still
honours what it says: an HTTP proxy, NO_PROXY, a CA bundle."""

from __future__ import annotations

import os
import uuid

from devstack.services import REGISTRY_ADDR
from distribution.client import RegistryClient
from tests.support.ociimages import push_blob
from tests.support.registryproxy import RegistryProxy

BASE = f"http://{REGISTRY_ADDR}"


def test_a_proxy_named_by_the_environment_carries_the_requests(monkeypatch):
    name = f"lockmaster-test/env-{uuid.uuid4().hex[:8]}"
    digest = push_blob(name, os.urandom(64))
    for variable in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(variable, raising=False)
    with RegistryProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://{proxy.address}")
        through = RegistryClient(BASE)
        assert through.has_blob(name, digest)
        upload = through.start_upload(name)
        through.cancel_upload(upload)
        assert [line.split()[0] for line in proxy.faults.seen] == ["HEAD", "POST", "DELETE"]
        assert all(line.split()[1].startswith(f"{BASE}/v2/{name}/")
                   for line in proxy.faults.seen)  # as a forward proxy is asked

        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        direct = RegistryClient(BASE)
        assert direct.has_blob(name, digest)
        assert len(proxy.faults.seen) == 3


def test_the_ca_bundle_of_the_environment_is_used_unless_the_config_names_one(monkeypatch,
                                                                             tmp_path):
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "bundle.pem"))
    assert RegistryClient("https://registry.example").verify == str(tmp_path / "bundle.pem")
    assert RegistryClient("https://registry.example", ca_file="/etc/ca.crt").verify == \
        "/etc/ca.crt"
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    assert RegistryClient("https://registry.example").verify is True
