"""The web UI: dashboard, build page with the approve/reject form, environments, audit."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, TextAreaField

from auth.access import may, readable_repositories
from bootstrap import current_runtime
from promotion import pages
from promotion.decisions import decide
from promotion.facts import NotFound
from promotion.policy import Refused
from promotion.rollback import rollback
from record import environments
from record.audit import AuditEvent, audit

bp = Blueprint("promotion_ui", __name__, template_folder="templates")
SAFE_FETCH_SITES = {"same-origin", "none"}


class DecisionForm(FlaskForm):
    """Approve or reject the digest shown on the page."""

    digest = HiddenField()
    comment = TextAreaField("Comment")


class RollbackForm(FlaskForm):
    """Promote an earlier digest of the environment again."""

    digest = HiddenField()
    comment = TextAreaField("Why")


def same_origin_posts():
    """A POST must come from a page of this site: check Sec-Fetch-Site and Origin."""
    if request.method != "POST":
        return
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if (site and site not in SAFE_FETCH_SITES) or \
            (origin and origin != request.host_url.rstrip("/")):
        actor = current_user.username if current_user.is_authenticated else None
        audit(current_runtime().db, "cross-site-post", actor, request.path, outcome="refused",
              detail=f"Origin {origin!r}, Sec-Fetch-Site {site!r}")
        abort(403, "cross-site form posts are refused")


bp.before_request(same_origin_posts)


@bp.get("/")
@login_required
def dashboard():
    """Recent builds, pending approvals and what each environment serves."""
    return render_template("dashboard.html", **pages.dashboard(current_runtime()))


@bp.get("/builds/<build_id>")
@login_required
def build_page(build_id: str):
    """One build: commit, gates, digest, what changes if promoted, and the decision form."""
    view = pages.build_view(current_runtime(), build_id)
    if view is None:
        abort(404, f"no build with id '{build_id}'")
    form = DecisionForm(digest=view["build"].digest)
    return render_template("build.html", form=form, **view)


@bp.post("/builds/<build_id>/decision")
@login_required
def decision(build_id: str):
    """Approve or reject the digest the form showed (POST only, CSRF token required)."""
    form = DecisionForm()
    if not form.validate_on_submit():
        audit(current_runtime().db, "decision", current_user.username, f"build {build_id}",
              outcome="refused", detail="missing or wrong CSRF token")
        abort(400, "the form expired or did not come from this site; reload the page")
    choice = request.form.get("decision", "")
    try:
        decided = decide(current_runtime(), build_id, current_user.username, choice,
                         form.digest.data or "", form.comment.data or "")
    except NotFound:
        abort(404)
    except Refused as exc:
        flash(f"Refused: {exc}")
        return redirect(url_for(".build_page", build_id=build_id), 303)
    flash(f"Recorded: {choice} ({decided.approvals} of {decided.needed} approvals); "
          f"promotion is {decided.status}.")
    return redirect(url_for(".build_page", build_id=build_id), 303)


@bp.get("/environments/<environment>/<path:image>")
@login_required
def environment_page(environment: str, image: str):
    """What an environment serves for an image, its history, and rollback buttons."""
    if not any(may(current_user, "read", repo.name)
               for repo in current_runtime().settings.repositories if repo.image == image):
        abort(404, f"no image '{image}' among your repositories")
    with current_runtime().db.session() as session:
        past = environments.history(session, image, environment)
    return render_template("environment.html", environment=environment, image=image,
                           history=past, form=RollbackForm())


@bp.post("/environments/<environment>/<path:image>/rollback")
@login_required
def rollback_action(environment: str, image: str):
    """Promote an earlier digest of this environment again."""
    form = RollbackForm()
    if not form.validate_on_submit():
        abort(400, "the form expired or did not come from this site; reload the page")
    try:
        rollback(current_runtime(), current_user.username, environment, image,
                 form.digest.data or "", form.comment.data or "")
        flash(f"Rollback of {image} in {environment} to {form.digest.data} queued.")
    except (Refused, NotFound) as exc:
        flash(f"Refused: {exc}")
    return redirect(url_for(".environment_page", environment=environment, image=image), 303)


@bp.get("/audit")
@login_required
def audit_page():
    """Every approval, rejection, promotion, rollback, login and refusal, newest first."""
    readable = readable_repositories(current_user, current_runtime().settings)
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(500)
    if readable is not None:
        query = query.where(AuditEvent.repository.in_(readable))
    with current_runtime().db.session() as session:
        events = list(session.scalars(query))
    return render_template("audit.html", events=events)

