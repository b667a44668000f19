"""Repository pages: configuration, last builds, what each environment serves, Build now."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import StringField

from bootstrap import current_runtime
from history import queries
from promotion.views import same_origin_posts
from record.models import ROW_ONLY, Build
from ui.access import readable, require
from webhooks.manual import trigger
from webhooks.recorder import settle

bp = Blueprint("repos_ui", __name__, template_folder="templates")
bp.before_request(same_origin_posts)


class BuildNowForm(FlaskForm):
    """A branch or tag to build now."""

    ref = StringField("Branch or tag")


@bp.get("/repositories")
@login_required
def repositories():
    """Every configured repository the user may read."""
    scope = readable()
    repos = [r for r in current_runtime().settings.repositories
             if scope is None or r.name in scope]
    return render_template("ui/repositories.html", repositories=repos)


@bp.get("/repositories/<path:name>")
@login_required
def repository(name: str):
    """One repository: settings, last builds, environments, and the Build now form."""
    runtime = current_runtime()
    repo = runtime.settings.repository_named(name)
    if repo is None:
        abort(404, f"no repository '{name}' in lockmaster.yml")
    require("read", repo.name)
    with runtime.db.session() as session:
        overview = queries.repository_overview(session, runtime.settings, repo)
    return render_template("ui/repository.html", repo=repo, overview=overview,
                           builds=_last_builds(runtime, repo.name),
                           gates=sorted(repo.checks.enabled),
                           form=BuildNowForm(ref=_default_ref(repo.branches)))


def _default_ref(branches: tuple[str, ...] | list[str]) -> str:
    """The first branch pattern without wildcards (what Build now offers first)."""
    plain = [b for b in branches if not any(c in b for c in "*?[")]
    return plain[0] if plain else "main"


def _last_builds(runtime, name: str, count: int = 10) -> list[Build]:
    with runtime.db.session() as session:
        return list(session.scalars(select(Build).options(ROW_ONLY)
                                    .where(Build.repository == name)
                                    .order_by(Build.id.desc()).limit(count)))


@bp.post("/repositories/<path:name>/build")
@login_required
def build_now(name: str):
    """Build a branch or tag now, resolved on the clone URL as the manual API does."""
    runtime = current_runtime()
    repo = runtime.settings.repository_named(name)
    if repo is None:
        abort(404, f"no repository '{name}' in lockmaster.yml")
    form = BuildNowForm()
    if not form.validate_on_submit():
        abort(400, "the form expired or did not come from this site; reload the page")
    require("build", repo.name)
    outcome = trigger(runtime, {"repository": repo.name, "ref": (form.ref.data or "").strip(),
                                "requested_by": current_user.username})
    built = outcome.body.get("builds") or []
    if outcome.status >= 400 or not built:
        flash(f"Not built: {outcome.body.get('error') or outcome.body.get('ignored')}")
        return redirect(url_for(".repository", name=repo.name), 303)
    settle(runtime)  # the build page reads the recorded build
    flash(f"Build of {form.ref.data} queued.")
    return redirect(url_for("promotion_ui.build_page", build_id=built[0]["id"]), 303)
