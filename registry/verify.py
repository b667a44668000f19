"""`lockmaster verify-registry`: every production tag's digest against the lineage record."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily
from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from bootstrap import Runtime
from provenance.formats import is_proof_tag
from record import environments
from registry.access import registry_client

MISMATCHES_KEY = "lockmaster:registry-mismatches"


def expected_tags(session: Session, image: str, environment: str) -> dict[str, str]:
    """Tag → digest as Lockmaster's promotions left them (the latest promotion wins)."""
    expected: dict[str, str] = {}
    for promotion in reversed(environments.history(session, image, environment)):
        for tag in promotion.tags or []:
            expected[tag] = promotion.digest
    return expected


def mismatches(runtime: Runtime) -> list[str]:
    """One line per tag whose served digest differs from the record; stored for /metrics."""
    registry, client = runtime.settings.registry, registry_client(runtime, "promoter")
    found = []
    for repo in runtime.settings.repositories:
        for environment in repo.promotion.environments[1:]:
            name = registry.path(environment, repo.image)
            with runtime.db.session() as session:
                expected = expected_tags(session, repo.image, environment)
            # Signature tags (.sig/.att) are proofs of a digest, not tags Lockmaster promotes.
            served_tags = {tag for tag in client.tags(name) if not is_proof_tag(tag)}
            for tag in sorted(set(expected) | served_tags):
                served = client.manifest_digest(name, tag)
                if served != expected.get(tag):
                    found.append(f"{name}:{tag} serves {served or 'nothing'}; the record says "
                                 f"{expected.get(tag) or 'no promotion made this tag'}")
    runtime.redis.set(MISMATCHES_KEY, len(found))
    return found


class MismatchCollector:
    """lockmaster_registry_mismatches: what the last `verify-registry` found."""

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def collect(self):
        """Yield the gauge, if a verification has run."""
        try:
            value = self.runtime.redis.get(MISMATCHES_KEY)
        except RedisError:
            return
        if value is not None:
            yield GaugeMetricFamily("lockmaster_registry_mismatches",
                                    "Production tags whose digest differs from the record "
                                    "(last `lockmaster verify-registry`)", value=int(value))
