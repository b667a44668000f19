"""Wiring the promotion UI into the app (its API is nested in the /api/v1 blueprint)."""

from __future__ import annotations

from flask import Flask


def init_promotion(app: Flask) -> None:
    """Register the promotion pages."""
    from promotion.views import bp as ui_bp

    app.register_blueprint(ui_bp)
