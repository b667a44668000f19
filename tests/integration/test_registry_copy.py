"""Copy by digest against the real registry: digests kept, blobs mounted, fallbacks work."""

import json

import pytest

from devstack.services import REGISTRY_ADDR
from distribution.client import MANIFEST_TYPES, RegistryClient, RegistryError
from distribution.copy import copy_image
from tests.support.ociimages import OCI_INDEX, push_image, push_index
from tests.support.registryproxy import Faults, RegistryProxy
from tests.support.stack import registry_get

ACCEPT = ", ".join(MANIFEST_TYPES)


@pytest.fixture
def names(registry_prefix, services):
    """A staging and a production repository of this test."""
    return f"{registry_prefix}/staging/acme/web", f"{registry_prefix}/production/acme/web"


def _client(address: str = REGISTRY_ADDR) -> RegistryClient:
    return RegistryClient(f"http://{address}", attempts=3, backoff=0.05)


@pytest.mark.parametrize("oci", [False, True], ids=["docker-v2", "oci"])
def test_an_image_keeps_its_digest_and_bytes(names, oci):
    staging, production = names
    digest, raw = push_image(staging, "v1", oci=oci)
    copy_image(_client(), staging, _client(), production, digest)
    served = registry_get(f"{production}/manifests/{digest}", accept=ACCEPT)
    assert served.status_code == 200
    assert served.headers["Docker-Content-Digest"] == digest
    assert served.content == raw
    for blob in [served.json()["config"]["digest"], served.json()["layers"][0]["digest"]]:
        assert registry_get(f"{production}/blobs/{blob}").status_code == 200


def test_a_two_platform_index_keeps_the_index_digest(names):
    staging, production = names
    digest, children = push_index(staging, "multi")
    copy_image(_client(), staging, _client(), production, digest)
    served = registry_get(f"{production}/manifests/{digest}", accept=ACCEPT)
    assert served.headers["Docker-Content-Digest"] == digest
    assert served.headers["Content-Type"] == OCI_INDEX
    for child in children:
        assert registry_get(f"{production}/manifests/{child}",
                            accept=ACCEPT).status_code == 200


def test_blobs_are_mounted_not_uploaded(names):
    staging, production = names
    digest, _raw = push_image(staging, "v1", size=64 * 1024)
    with RegistryProxy() as proxy:
        client = _client(proxy.address)
        copy_image(client, staging, client, production, digest)
    uploads = [s for s in proxy.faults.seen if s.startswith(("PUT", "PATCH")) and "/blobs/" in s]
    assert uploads == []
    assert sum("POST" in s and "mount=sha256" in s for s in proxy.faults.seen) == 2


def test_a_mount_answered_202_falls_back_to_an_upload(names):
    staging, production = names
    digest, raw = push_image(staging, "v1")
    with RegistryProxy(Faults(mount_as_upload=True)) as proxy:
        client = _client(proxy.address)
        copy_image(client, staging, client, production, digest)
    assert any(s.startswith("PUT") and "/blobs/uploads/" in s for s in proxy.faults.seen)
    served = registry_get(f"{production}/manifests/{digest}", accept=ACCEPT)
    assert served.content == raw
    layer = json.loads(raw)["layers"][0]["digest"]
    assert registry_get(f"{production}/blobs/{layer}").status_code == 200


def test_a_registry_500_on_the_manifest_put_is_retried(names):
    staging, production = names
    digest, _raw = push_image(staging, "v1")
    with RegistryProxy(Faults(manifest_put_errors=2)) as proxy:
        client = _client(proxy.address)
        copy_image(client, staging, client, production, digest)
    assert registry_get(f"{production}/manifests/{digest}",
                        accept=ACCEPT).headers["Docker-Content-Digest"] == digest


def test_a_registry_that_keeps_failing_raises_and_nothing_is_stored(names):
    staging, production = names
    digest, _raw = push_image(staging, "v1")
    with RegistryProxy(Faults(manifest_put_errors=10)) as proxy, \
            pytest.raises(RegistryError, match="answered 500"):
        client = _client(proxy.address)
        copy_image(client, staging, client, production, digest)
    assert registry_get(f"{production}/manifests/{digest}", accept=ACCEPT).status_code == 404


def test_a_copy_to_another_registry_streams_the_blobs(names):
    staging, production = names
    digest, raw = push_image(staging, "v1")
    with RegistryProxy() as other:
        copy_image(_client(), staging, _client(other.address), production, digest)
    assert not any("mount=" in s for s in other.faults.seen)
    assert sum(s.startswith("PUT") and "/blobs/uploads/" in s for s in other.faults.seen) == 2
    assert registry_get(f"{production}/manifests/{digest}", accept=ACCEPT).content == raw
