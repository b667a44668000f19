"""GET /api/v1/signing-keys: the image-signing public keys (public: no token needed)."""

from __future__ import annotations

from flask import Blueprint, jsonify

from bootstrap import current_runtime
from provenance.keystore import all_keys

bp = Blueprint("signing_keys", __name__)


@bp.get("/signing-keys")
def signing_keys():
    """Every key that signs or signed images: PEM, id, active or retired."""
    return jsonify({"keys": [
        {"id": row.key_id, "status": row.status, "algorithm": "ecdsa-p256-sha256",
         "public_key": row.public_pem,
         "created_at": row.created_at.isoformat() + "Z",
         "retired_at": row.retired_at.isoformat() + "Z" if row.retired_at else None}
        for row in all_keys(current_runtime().db)]})
