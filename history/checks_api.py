"""Gate artifacts under /api/v1: the CycloneDX SBOM of a build."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from auth.access import api_may
from bootstrap import current_runtime
from record.checks import Artifact
from record.models import Build

bp = Blueprint("checks", __name__)


@bp.get("/builds/<build_id>/sbom")
def get_sbom(build_id: str):
    """The build's SBOM (CycloneDX JSON), as the sbom gate made it."""
    with current_runtime().db.session() as session:
        build = session.get(Build, build_id)
        if build is None or not api_may("read", build.repository):
            return jsonify({"error": f"no build with id '{build_id}'"}), 404
        artifact = session.get(Artifact, (build_id, "sbom"))
        if artifact is None:
            return jsonify({"error": f"build {build_id} has no SBOM: its sbom gate did not "
                                     "run (yet), or it is disabled in lockmaster.yml"}), 404
        return Response(artifact.content, mimetype=artifact.media_type,
                        headers={"Content-Disposition":
                                 f'attachment; filename="{build_id}.cdx.json"'})
