"""The SLSA provenance v1 predicate Lockmaster writes for a build (plain domain code)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Documented in docs/provenance.md: a Dockerfile build of one Git commit by Lockmaster.
BUILD_TYPE = "https://lockmaster.dev/buildtypes/dockerfile/v1"
GATES_PREDICATE = "https://lockmaster.dev/attestations/gates/v1"


@dataclass(frozen=True)
class BuildFacts:
    """What the provenance says about one build, read from its record and its run."""

    build_id: str
    repository: str
    ref: str
    clone_url: str
    commit_sha: str
    dockerfile: str
    context: str
    target: str | None
    build_args: dict
    builder: str
    limits: dict
    network: str
    builder_id: str
    started_on: str | None
    finished_on: str | None
    base_images: list[tuple[str, str]] = field(default_factory=list)  # (name, digest)
    sbom_digest: str | None = None
    log_digest: str | None = None
    backfilled: bool = False


def provenance(facts: BuildFacts) -> dict:
    """The `https://slsa.dev/provenance/v1` predicate of a build."""
    internal = {"builder": facts.builder, "limits": facts.limits, "network": facts.network}
    if facts.backfilled:
        internal["backfilled"] = True  # made after the build, from its record
    metadata = {"invocationId": facts.build_id}
    metadata.update({k: v for k, v in (("startedOn", facts.started_on),
                                       ("finishedOn", facts.finished_on)) if v})
    return {
        "buildDefinition": {
            "buildType": BUILD_TYPE,
            "externalParameters": {"repository": facts.repository, "ref": facts.ref,
                                   "dockerfile": facts.dockerfile, "context": facts.context,
                                   "target": facts.target or "",
                                   "buildArgs": dict(facts.build_args)},
            "internalParameters": internal,
            "resolvedDependencies": [
                {"uri": f"git+{facts.clone_url}@{facts.ref}",
                 "digest": {"gitCommit": facts.commit_sha}},
                *({"uri": f"docker-image://{name}", "digest": _digest_map(digest)}
                  for name, digest in facts.base_images)],
        },
        "runDetails": {"builder": {"id": facts.builder_id}, "metadata": metadata,
                       "byproducts": _byproducts(facts)},
    }


def _byproducts(facts: BuildFacts) -> list[dict]:
    found = []
    if facts.sbom_digest:
        found.append({"name": "sbom", "digest": _digest_map(facts.sbom_digest),
                      "mediaType": "application/vnd.cyclonedx+json"})
    if facts.log_digest:
        found.append({"name": "log", "digest": _digest_map(facts.log_digest),
                      "mediaType": "text/plain"})
    return found


def _digest_map(digest: str) -> dict:
    algorithm, value = digest.split(":", 1)
    return {algorithm: value}


def git_commit(predicate: dict) -> str | None:
    """The commit a provenance predicate names as its source."""
    for dependency in predicate.get("buildDefinition", {}).get("resolvedDependencies", []):
        if str(dependency.get("uri", "")).startswith("git+"):
            return dependency.get("digest", {}).get("gitCommit")
    return None


def byproduct_digest(predicate: dict, name: str) -> str | None:
    """The digest of a named byproduct (sbom, log), as `sha256:<hex>`."""
    for item in predicate.get("runDetails", {}).get("byproducts", []):
        if item.get("name") == name and "sha256" in item.get("digest", {}):
            return "sha256:" + item["digest"]["sha256"]
    return None
