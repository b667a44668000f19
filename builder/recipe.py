"""What to ask the engine for one build: paths, labels, build args, tags, cache image."""

from __future__ import annotations

from pathlib import Path

from builder.errors import BuildFailure
from builder.masking import without_credentials
from builder.repofiles import RepositoryFileError, read_text
from builder.source import inside
from builder.tags import branch_name, ref_to_tag, short_sha, tag_name
from config import RepositoryConfig
from config.isolation import Commit, substitute
from record.models import Build, utcnow

BUILD_ID_LABEL = "io.lockmaster.build-id"


def build_paths(build: Build, repo: RepositoryConfig,
                workspace: Path) -> tuple[Path, Path, str]:
    """The build context and the Dockerfile in the checkout, and the Dockerfile's text (read
    following no link); BuildFailure names a missing or refused one."""
    context = inside(workspace, repo.context, "context")
    if not context.is_dir():
        raise BuildFailure("build", f"build context '{repo.context}' not found in commit "
                                    f"{short_sha(build.commit_sha)}")
    try:
        text = read_text(workspace, repo.dockerfile)
    except RepositoryFileError as exc:
        raise BuildFailure("build", str(exc)) from exc
    if text is None:
        raise BuildFailure("build", f"Dockerfile not found at path '{repo.dockerfile}' in "
                                    f"commit {short_sha(build.commit_sha)}")
    return context, workspace / repo.dockerfile, text


def image_labels(build: Build) -> dict[str, str]:
    """The OCI labels and the Lockmaster build id every image carries."""
    return {
        "org.opencontainers.image.revision": build.commit_sha,
        "org.opencontainers.image.source": without_credentials(build.source_url or
                                                               build.clone_url),
        "org.opencontainers.image.created": utcnow().isoformat(timespec="seconds") + "Z",
        BUILD_ID_LABEL: build.id,
    }


def build_args(build: Build, repo: RepositoryConfig) -> dict[str, str]:
    """The repository's build args with {sha}, {short_sha}, {ref} and {version} filled in."""
    commit = Commit(sha=build.commit_sha, short_sha=short_sha(build.commit_sha),
                    ref=build.ref, version=version(build))
    return substitute(repo.build_args, commit)


def image_tags(build: Build, refs: list[str]) -> list[str]:
    """The staging tags of a build: the short commit id and each branch or tag name."""
    tags = [short_sha(build.commit_sha)]
    for ref in refs:
        name = branch_name(ref) or tag_name(ref)
        if name is not None and ref_to_tag(name) not in tags:
            tags.append(ref_to_tag(name))
    return tags


def ref_tag(build: Build) -> str | None:
    """The image tag of the build's branch or Git tag."""
    name = branch_name(build.ref) or tag_name(build.ref)
    return ref_to_tag(name) if name is not None else None


def version(build: Build) -> str:
    """{version}: the Git tag of a tag push, else the short commit id."""
    return tag_name(build.ref) or short_sha(build.commit_sha)
