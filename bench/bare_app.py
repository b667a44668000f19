"""The baseline: a bare Flask endpoint that reads the body and answers 202, nothing else."""

from flask import Flask, request


def create_app() -> Flask:
    """A Flask app with one POST /webhooks/github endpoint."""
    app = Flask(__name__)

    @app.post("/webhooks/github")
    def receive():
        request.get_data()
        return {"builds": []}, 202

    return app
