"""Whether the registry trusts a signing key yet: one request with a token that key signed."""

from __future__ import annotations

import requests

from config import Settings
from registry.signing import SigningError, SigningKey
from registry.tokenservice import sign

CHECKER = "lockmaster-key-check"


def registry_trusts(settings: Settings, key: SigningKey) -> bool:
    """True when the registry accepts a token signed by key (it reads its bundle at start)."""
    registry = settings.registry
    token = sign(key, CHECKER, registry.service, [], 60)["token"]
    try:
        response = requests.get(f"{registry.base_url}/v2/", timeout=10,
                                headers={"Authorization": f"Bearer {token}"},
                                verify=registry.ca_file or True)
    except requests.RequestException as exc:
        raise SigningError(f"could not reach the registry at {registry.base_url} to check "
                           f"that it trusts the new key ({exc}); start it and try again") from exc
    if response.status_code not in (200, 401):
        raise SigningError(f"the registry at {registry.base_url} answered "
                           f"{response.status_code} to the key check; try again when it is up")
    return response.status_code == 200
