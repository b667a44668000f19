"""The browser UI beyond the approval form: builds list, build control, repositories, lineage,
people; its layout, stylesheet and scripts (static files: the CSP allows no inline ones)."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from markupsafe import Markup, escape


def init_ui(app: Flask) -> None:
    """Register the UI pages and the helpers every template uses."""
    from ui.access import allowed
    from ui.admin import bp as admin_bp
    from ui.repositories import bp as repositories_bp
    from ui.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(repositories_bp)
    app.jinja_env.globals["allowed"] = allowed
    app.jinja_env.filters["when"] = when
    app.jinja_env.filters["duration"] = duration


def when(moment: datetime | None) -> Markup:
    """A <time> the browser shows in the viewer's zone, with the UTC value on hover."""
    if moment is None:
        return Markup("—")
    utc = moment.isoformat(timespec="seconds") + "Z"
    text = escape(moment.strftime("%Y-%m-%d %H:%M:%S") + " UTC")
    return Markup(f'<time datetime="{utc}" title="{text}">{text}</time>')


def duration(start: datetime | None, end: datetime | None) -> str:
    """How long from start to end, as 1m 05s; empty while unknown."""
    if start is None or end is None:
        return ""
    seconds = max(int((end - start).total_seconds()), 0)
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"
