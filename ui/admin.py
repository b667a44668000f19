"""The people page for admins: users, roles, repository scopes, identities, tokens, revoke."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select

from auth.tokens import TokenError, revoke_token
from bootstrap import current_runtime
from promotion.views import same_origin_posts
from record.accounts import ApiToken, User
from record.audit import audit
from ui.access import require

bp = Blueprint("admin_ui", __name__, template_folder="templates")
bp.before_request(same_origin_posts)


@bp.get("/users")
@login_required
def users():
    """Every user with their role, scope, linked identities and API tokens."""
    require("admin")
    with current_runtime().db.session() as session:
        people = list(session.scalars(select(User).order_by(User.username)))
        tokens = list(session.scalars(select(ApiToken).order_by(ApiToken.name)))
    owned = {user.id: [t for t in tokens if t.user_id == user.id] for user in people}
    return render_template("ui/users.html", people=people, owned=owned, form=FlaskForm())


@bp.post("/tokens/<name>/revoke")
@login_required
def revoke(name: str):
    """Revoke an API token now (the CLI's `lockmaster tokens revoke`)."""
    require("admin")
    if not FlaskForm().validate_on_submit():
        abort(400, "the form expired or did not come from this site; reload the page")
    runtime = current_runtime()
    try:
        revoke_token(runtime.db, name)
    except TokenError as exc:
        abort(404, str(exc))
    audit(runtime.db, "token-revoke", current_user.username, name)
    flash(f"Token {name} revoked.")
    return redirect(url_for(".users"), 303)
