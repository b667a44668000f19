"""Login and logout pages."""

from __future__ import annotations

import secrets
import time
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from auth import throttle
from auth.cookies import may_be_logged_in
from auth.credentialchanges import forget, user_accounts
from auth.users import MIN_PASSWORD, authenticate, set_password
from bootstrap import current_runtime
from record.audit import audit

bp = Blueprint("auth", __name__, template_folder="templates")


class LoginForm(FlaskForm):
    """Name and password."""

    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


class PasswordForm(FlaskForm):
    """A new password, twice."""

    password = PasswordField("New password", validators=[DataRequired(),
                                                         Length(min=MIN_PASSWORD)])
    again = PasswordField("Again", validators=[EqualTo("password", "the two do not match")])


@bp.before_app_request
def _one_time_password_must_change():
    """A user still on a one-time password may only choose a new one (or log out)."""
    if may_be_logged_in() and current_user.is_authenticated \
            and current_user.must_change_password \
            and request.endpoint not in ("auth.password", "auth.logout", "static", "ui.static"):
        return redirect(url_for("auth.password"))
    return None


@bp.route("/password", methods=["GET", "POST"])
def password():
    """Choose a new password (required after a one-time password)."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    form = PasswordForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("password.html", form=form), status
    set_password(current_runtime().db, current_user.username, form.password.data)
    forget(current_runtime().redis, user_accounts(current_runtime().db, current_user.username))
    audit(current_runtime().db, "password-change", current_user.username, current_user.username)
    flash("Password changed.")
    return redirect(url_for("promotion_ui.dashboard"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the login form; on POST check the password, rotating the session on success."""
    form = LoginForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("login.html", form=form), status
    runtime, name = current_runtime(), form.username.data.strip()
    address = request.remote_addr or "unknown"
    wait = throttle.blocked_for(runtime.redis, name, address)
    if wait:
        audit(runtime.db, "login", name, address, outcome="refused",
              detail="too many failed logins")
        flash(f"Too many failed logins; try again in {wait // 60 + 1} minutes.")
        return render_template("login.html", form=form), 429
    user = authenticate(runtime.db, name, form.password.data)
    if user is None:
        throttle.failed(runtime.redis, name, address)
        audit(runtime.db, "login", name, address, outcome="failed", detail="wrong name or password")
        flash("Wrong username or password.")
        return render_template("login.html", form=form), 401
    throttle.succeeded(runtime.redis, name)
    session.clear()
    login_user(user)
    session.permanent = True
    session.update(seen=int(time.time()), sid=secrets.token_urlsafe(16))
    audit(runtime.db, "login", user.username, address)
    return redirect(_safe_next(request.args.get("next")))


@bp.post("/logout")
def logout():
    """End the session."""
    form = FlaskForm()
    if current_user.is_authenticated and form.validate_on_submit():
        logout_user()
    session.clear()
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Only a local path (no scheme, no host, no backslash, no control character: browsers
    drop tabs and read a backslash as `/`, so `/<tab>/evil.com` would leave the site); else
    `/`."""
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target and target.isprintable():
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return "/"
