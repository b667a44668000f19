"""Web sessions with Flask-Login: cookie flags, idle timeout, the app's secret key."""

from __future__ import annotations

import os
import secrets
import time
from datetime import timedelta
from pathlib import Path

from flask import Flask, flash, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user, logout_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from auth.cookies import may_be_logged_in
from auth.views import bp
from bootstrap import current_runtime
from record.accounts import User

IDLE_TIMEOUT = timedelta(minutes=30)


class _SessionInterface(SecureCookieSessionInterface):
    """The session cookie is `Secure` exactly when the request came over TLS; a request
    without the cookie (a Git host, the registry, an API client) starts an empty session
    without building the cookie signer."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure

    def open_session(self, app: Flask, request):
        if not request.environ.get("HTTP_COOKIE") \
                or self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session, response) -> None:
        if not session and not session.modified:  # nothing to set or delete
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


def init_auth(app: Flask) -> None:
    """Sessions, the login manager and the login/logout pages."""
    settings = app.extensions["lockmaster"].settings
    # A worker's app signs no session: it holds no session key (docs/security.md).
    serves_web = app.config.get("LOCKMASTER_SERVES_WEB", True)
    app.secret_key = secret_key(settings.data_dir) if serves_web else secrets.token_hex(32)
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_NAME="lockmaster_session",
                      PERMANENT_SESSION_LIFETIME=IDLE_TIMEOUT)
    app.session_interface = _SessionInterface()
    manager = LoginManager(app)
    manager.login_view = "auth.login"
    manager.session_protection = "strong"
    manager.user_loader(_load_user)
    app.jinja_env.globals["csrf_token"] = generate_csrf
    app.before_request(_idle_timeout)
    app.register_blueprint(bp)


def secret_key(data_dir: Path) -> str:
    """LOCKMASTER_SECRET_KEY, else a key made once and kept in the data dir (mode 0600)."""
    if os.environ.get("LOCKMASTER_SECRET_KEY"):
        return os.environ["LOCKMASTER_SECRET_KEY"]
    path = Path(data_dir) / "secret-key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def _load_user(user_id: str) -> User | None:
    with current_runtime().db.session() as db:
        return db.scalar(select(User).where(User.id == int(user_id)))


def _idle_timeout():
    """Log out a session left idle longer than IDLE_TIMEOUT."""
    if not may_be_logged_in() or not current_user.is_authenticated:
        return None
    now = int(time.time())
    if now - session.get("seen", now) > IDLE_TIMEOUT.total_seconds():
        logout_user()
        session.clear()
        flash("You were logged out after a period of inactivity.")
        return redirect(url_for("auth.login", next=request.path))
    session["seen"] = now
    return None
