"""Wiring the promotion UI and API into the app."""

from __future__ import annotations

from flask import Flask


def init_promotion(app: Flask) -> None:
    """Register the UI pages and the promotion API."""
    from promotion.api import bp as api_bp
    from promotion.views import bp as ui_bp

    app.register_blueprint(ui_bp)
    app.register_blueprint(api_bp)
