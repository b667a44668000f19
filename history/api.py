"""The build-history API under /api/v1: builds, commits, images, repositories, audit."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from flask import Blueprint, Response, current_app, jsonify, request

from auth.access import api_readable
from bootstrap import current_runtime
from builder.buildlog import live_lines
from builder.follow import FOLLOWERS_PER_PROCESS, KEEPALIVE_SECONDS, events, follow
from history import filters, queries
from history.openapi import document as openapi_document
from ops.problems import problem
from record.documents import build_document, build_summary
from record.models import Build
from webhooks.recorder import settle

bp = Blueprint("history", __name__)


@bp.errorhandler(filters.BadFilter)
def _bad_filter(exc: filters.BadFilter):
    return problem(400, str(exc))


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of /api/v1."""
    return jsonify(openapi_document())


@bp.get("/builds")
def list_builds():
    """Builds, newest first, filtered, one page at a time (`next` is the next page's cursor)."""
    wanted = filters.build_filter(request.args.to_dict())
    with current_runtime().db.session() as session:
        page, cursor = queries.list_builds(session, wanted, api_readable())
        return jsonify({"items": [build_summary(b) for b in page], "next": cursor})


@bp.get("/builds/<build_id>")
def get_build(build_id: str):
    """One build with its commit, stages, gates, artifacts, approvals and promotions."""
    document = _read_build(current_runtime(), build_id, build_document)
    return _not_found(build_id) if document is None else jsonify(document)


@bp.get("/builds/<build_id>/log")
def get_build_log(build_id: str):
    """The build log as plain text (live while the build runs); ?follow=1 streams it as
    text/event-stream until the build ends."""
    runtime = current_runtime()
    found = _read_build(runtime, build_id, lambda build: (build.log,))
    if found is None:
        return _not_found(build_id)
    text = found[0]
    if request.args.get("follow") in ("1", "true"):
        return event_stream(runtime, build_id)
    if text is None:
        lines = list(live_lines(runtime.redis, build_id))
        text = "\n".join(lines) + ("\n" if lines else "")
    return Response(text, mimetype="text/plain")


@bp.get("/commits/<sha>")
def get_commit(sha: str):
    """Every build of a commit (a prefix of 7 or more hex digits is enough), newest first."""
    prefix = filters.commit_prefix(sha)
    with current_runtime().db.session() as session:
        builds = queries.builds_of_commit(session, prefix, api_readable())
        if not builds:
            return problem(404, f"no build of a commit starting with '{prefix}'")
        return jsonify({"sha": prefix, "builds": [build_summary(b) for b in builds]})


@bp.get("/images/<digest>")
def get_image(digest: str):
    """The lineage of a digest: build, commit, gates, approvals, promotions, where it is."""
    digest = filters.image_digest(digest)
    runtime = current_runtime()
    with runtime.db.session() as session:
        found = queries.image_lineage(session, runtime.settings, digest)
    if found is None or not _may_read(found["build"]["repository"]):
        return problem(404, f"no build or promotion made {digest}")
    return jsonify(found)


@bp.get("/repositories")
def list_repositories():
    """The configured repositories and their settings."""
    repos = [r for r in current_runtime().settings.repositories if _may_read(r.name)]
    return jsonify({"items": [queries.repository_config(r) for r in repos]})


@bp.get("/repositories/<path:name>")
def get_repository(name: str):
    """One repository: settings, last builds and what each environment serves."""
    runtime = current_runtime()
    repo = runtime.settings.repository_named(name)
    if repo is None or not _may_read(repo.name):
        return problem(404, f"no repository '{name}' in lockmaster.yml")
    with runtime.db.session() as session:
        return jsonify(queries.repository_overview(session, runtime.settings, repo))


@bp.get("/audit")
def list_audit():
    """Audit events, newest first, filtered by actor, action and time."""
    wanted = filters.audit_filter(request.args.to_dict())
    with current_runtime().db.session() as session:
        page, cursor = queries.list_audit(session, wanted, api_readable())
        return jsonify({"items": [queries.audit_document(e) for e in page], "next": cursor})


def event_stream(runtime, build_id: str, statuses: bool = False) -> Response:
    """The build's log as text/event-stream, resuming after the request's Last-Event-ID, if
    this process has a follower slot left (each holds a thread for the whole build; the
    others answer webhooks); a comment line every KEEPALIVE_SECONDS of quiet, whose write
    frees the slot of a client that left."""
    slots = current_app.extensions.setdefault(
        "lockmaster_followers", threading.BoundedSemaphore(FOLLOWERS_PER_PROCESS))
    if not slots.acquire(blocking=False):
        busy = problem(503, f"{FOLLOWERS_PER_PROCESS} clients already follow build logs on "
                            "this web process: retry in a few seconds, or read the log "
                            "without follow=1")
        busy.headers["Retry-After"] = "5"
        return busy
    after = request.headers.get("Last-Event-ID") or request.args.get("after") or ""
    lines = follow(runtime.redis, runtime.db, build_id, after[:64], statuses,
                   keepalive_s=KEEPALIVE_SECONDS)
    response = Response(_opened(events(lines)), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    response.call_on_close(slots.release)
    return response


def _opened(stream: Iterator[str]) -> Iterator[str]:
    """The stream after a comment line, so that the headers go out at once (a server sends
    them with the first chunk: a quiet build would otherwise keep its follower waiting)."""
    yield ": following\n\n"
    yield from stream


def _read_build(runtime, build_id: str, read):
    """read(build), or None if there is no such build — after recording the deliveries
    answered but not yet recorded, since a Git host or script told the id may ask at once.
    It looks again even when nothing was left to record: a recorder may have written the
    build between the first look and the check."""
    for asked_again in (False, True):
        with runtime.db.session() as session:
            build = session.get(Build, build_id)
            if build is not None:
                return read(build) if _may_read(build.repository) else None
        if asked_again:
            return None
        settle(runtime)
    return None


def _may_read(repository: str) -> bool:
    readable = api_readable()
    return readable is None or repository in readable


def _not_found(build_id: str):
    return problem(404, f"no build with id '{build_id}'")
