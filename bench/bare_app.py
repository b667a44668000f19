"""The baseline: bare Flask endpoints that do nothing but answer (a webhook and a token)."""

from flask import Flask, request


def create_app() -> Flask:
    """A Flask app with POST /webhooks/github and GET /auth/token, both doing nothing."""
    app = Flask(__name__)

    @app.post("/webhooks/github")
    def receive():
        request.get_data()
        return {"builds": []}, 202

    @app.get("/auth/token")
    def token():
        return {"token": "bare", "access_token": "bare", "expires_in": 300}

    return app
