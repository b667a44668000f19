"""Whether a request could belong to a logged-in user, read from its cookies alone."""

from __future__ import annotations

from flask import current_app, request


def may_be_logged_in() -> bool:
    """False for a request that carries no session or remember-me cookie (a Git host, the
    registry, an API client): it has no logged-in user, so nothing needs to load one."""
    if not request.environ.get("HTTP_COOKIE"):
        return False
    cookies = request.cookies
    return bool(cookies) and (current_app.config["SESSION_COOKIE_NAME"] in cookies
                              or current_app.config.get("REMEMBER_COOKIE_NAME",
                                                        "remember_token") in cookies)
