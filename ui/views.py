"""Builds list, build control (cancel, retry, live log), build numbers, image lineage."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from bootstrap import current_runtime
from builder.control import BuildConflict, cancel_build, retry_build
from builder.follow import events, follow
from history import filters, queries
from history.filters import MAX_ROW_ID
from promotion.views import same_origin_posts
from record.models import Build
from record.numbers import build_by_number
from states import BuildStatus
from ui.access import readable, require

bp = Blueprint("ui", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/ui")
bp.before_request(same_origin_posts)
# A page's log stream answers with what is there now and ends; the browser's EventSource asks
# again after RECONNECT_MS with the last id it has (Last-Event-ID), so no web worker is held
# by an open page (gunicorn's sync workers serve one request at a time).
RECONNECT_MS = 1000
STATUSES = tuple(s.value for s in BuildStatus)


@bp.get("/builds")
@login_required
def builds():
    """Builds, newest first, with the API's filters and cursor paging."""
    asked = {k: v for k, v in request.args.items() if k in filters.BUILD_KEYS and v}
    runtime, page, cursor, problem = current_runtime(), [], None, None
    scope = readable()
    try:
        wanted = filters.build_filter(asked)
        with runtime.db.session() as session:
            page, cursor = queries.list_builds(session, wanted, scope)
    except filters.BadFilter as exc:
        problem = str(exc)
    shown = {k: v for k, v in asked.items() if k not in ("cursor", "next")}
    return render_template("ui/builds.html", builds=page, asked=shown, problem=problem,
                           next_url=url_for(".builds", **shown, cursor=cursor) if cursor else None,
                           repositories=[r.name for r in runtime.settings.repositories
                                         if scope is None or r.name in scope],
                           statuses=STATUSES), 400 if problem else 200


@bp.get("/repositories/<path:name>/builds/<int:number>")
@login_required
def numbered_build(name: str, number: int):
    """`acme/web #42`: the build page of a repository's build number."""
    require("read", name)
    with current_runtime().db.session() as session:
        build = build_by_number(session, name, number) if number <= MAX_ROW_ID else None
        if build is None:
            abort(404, f"{name} has no build #{number}")
        return redirect(url_for("promotion_ui.build_page", build_id=build.id))


@bp.post("/builds/<build_id>/cancel")
@login_required
def cancel(build_id: str):
    """Cancel a queued or running build (developers in their repositories, and up)."""
    _checked_post(build_id, "cancel")
    try:
        outcome = cancel_build(current_runtime(), build_id, current_user.username)
        cancelled = outcome.status == BuildStatus.CANCELLED
        flash(f"Build cancelled by {outcome.cancelled_by}." if cancelled
              else "The worker is stopping the build.")
    except BuildConflict as exc:
        flash(f"Refused: {exc}")
    return redirect(url_for("promotion_ui.build_page", build_id=build_id), 303)


@bp.post("/builds/<build_id>/retry")
@login_required
def retry(build_id: str):
    """Queue a new build of the same commit and open its page."""
    _checked_post(build_id, "retry")
    try:
        new_id = retry_build(current_runtime(), build_id, current_user.username)
    except BuildConflict as exc:
        flash(f"Refused: {exc}")
        return redirect(url_for("promotion_ui.build_page", build_id=build_id), 303)
    flash(f"Retry of build {build_id} queued.")
    return redirect(url_for("promotion_ui.build_page", build_id=new_id), 303)


@bp.get("/builds/<build_id>/log/events")
@login_required
def log_events(build_id: str):
    """The build's log lines after Last-Event-ID and its status, as Server-Sent Events."""
    runtime = current_runtime()
    require("read", _repository_of(build_id))
    after = request.headers.get("Last-Event-ID") or request.args.get("after") or ""
    lines = follow(runtime.redis, runtime.db, build_id, after[:64], statuses=True,
                   block_ms=None, idle_polls=1)
    return Response(_with_retry(events(lines)), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@bp.get("/images/<digest>")
@login_required
def image(digest: str):
    """The lineage of a digest as a timeline: commit, build, gates, staging, approvals,
    environments."""
    runtime = current_runtime()
    try:
        digest = filters.image_digest(digest)
    except filters.BadFilter as exc:
        abort(400, str(exc))
    with runtime.db.session() as session:
        found = queries.image_lineage(session, runtime.settings, digest)
    if found is None:
        abort(404, f"no build or promotion made {digest}")
    require("read", found["build"]["repository"])
    return render_template("ui/image.html", lineage=found)


def _with_retry(stream: Iterator[str]) -> Iterator[str]:
    """The stream, told to be asked for again after RECONNECT_MS once it ends."""
    yield f"retry: {RECONNECT_MS}\n\n"
    yield from stream


def _checked_post(build_id: str, action: str) -> str:
    """The build's repository, once the form's CSRF token and the user's right are checked."""
    if not FlaskForm().validate_on_submit():
        abort(400, "the form expired or did not come from this site; reload the page")
    repository = _repository_of(build_id)
    require(action, repository)
    return repository


def _repository_of(build_id: str) -> str:
    with current_runtime().db.session() as session:
        build = session.get(Build, build_id)
        if build is None:
            abort(404, f"no build with id '{build_id}'")
        return build.repository
