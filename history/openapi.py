"""The OpenAPI 3.1 document of /api/v1 (a test checks the app's answers against it)."""

from __future__ import annotations

from functools import cache

STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}
NINT = {"type": ["integer", "null"]}
OBJ = {"type": "object"}
ARR = {"type": "array"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: dict, **optional) -> dict:
    return {"type": "object", "required": list(required),
            "properties": {**required, **optional}}


def _page(item: str, cursor: dict) -> dict:
    return _obj({"items": {"type": "array", "items": _ref(item)}, "next": cursor})


SCHEMAS = {
    "SigningKeys": _obj({"keys": {"type": "array", "items": _obj(
        {"id": STR, "status": {"enum": ["active", "retired"]}, "algorithm": STR,
         "public_key": STR, "created_at": STR, "retired_at": NSTR})}}),
    "Problem": _obj({"type": STR, "title": STR, "status": {"type": "integer"}, "detail": STR},
                    error=STR),
    "Commit": _obj({"sha": STR, "message": NSTR, "author": NSTR}),
    "BuildSummary": _obj({"id": STR, "number": NINT, "repository": STR, "ref": STR,
                          "commit": _ref("Commit"), "pusher": NSTR, "status": STR,
                          "error": NSTR, "digest": NSTR,
                          "created_at": NSTR, "finished_at": NSTR, "links": OBJ}),
    "Gate": _obj({"name": STR, "status": STR, "summary": NSTR}, details={}, test=STR,
                 duration_ms=NINT),
    "Approval": _obj({"by": STR, "decision": STR, "digest": STR, "comment": NSTR,
                      "self_approval": {"type": "boolean"}, "via": STR, "at": NSTR}),
    "Promotion": _obj({"id": {"type": "integer"}, "kind": STR, "build_id": STR, "image": STR,
                       "digest": STR, "from": STR, "to": STR, "status": STR, "reason": NSTR,
                       "tags": {"type": "array", "items": STR}, "actor": NSTR,
                       "approvals": {"type": "array", "items": _ref("Approval")},
                       "replaced_digest": NSTR, "created_at": NSTR, "started_at": NSTR,
                       "finished_at": NSTR}, proof={"type": ["object", "null"]}),
    "Build": _obj({"id": STR, "number": NINT, "repository": STR, "ref": STR, "refs": ARR,
                   "commit": _ref("Commit"), "pusher": NSTR, "pusher_accounts": ARR,
                   "status": STR, "error": NSTR, "failed_stage": NSTR,
                   "image": {"type": ["object", "null"]},
                   "checks": {"type": "array", "items": _ref("Gate")},
                   "promotions": {"type": "array", "items": _ref("Promotion")},
                   "history": ARR, "notifications": ARR, "stages": OBJ, "artifacts": OBJ,
                   "build_args": OBJ, "retry_of": NSTR, "cancelled_by": NSTR, "links": OBJ,
                   "created_at": NSTR, "started_at": NSTR, "finished_at": NSTR},
                  proof={"type": ["object", "null"]}),
    "BuildPage": _page("BuildSummary", NSTR),
    "CommitBuilds": _obj({"sha": STR, "builds": {"type": "array",
                                                 "items": _ref("BuildSummary")}}),
    "Place": _obj({"environment": STR, "repository": NSTR, "tags": ARR, "since": NSTR,
                   "current": {"type": "boolean"}}),
    "Image": _obj({"digest": STR, "image": NSTR, "build": _ref("Build"), "other_builds": ARR,
                   "commit": OBJ, "dockerfile": STR, "context": STR, "build_args": OBJ,
                   "gates": {"type": "array", "items": _ref("Gate")},
                   "approvals": {"type": "array", "items": _ref("Approval")},
                   "promotions": {"type": "array", "items": _ref("Promotion")},
                   "environments": {"type": "array", "items": _ref("Place")}}),
    "Repository": _obj({"name": STR, "provider": STR, "image": STR, "branches": ARR,
                        "tags": ARR, "dockerfile": STR, "context": STR, "build_args": ARR,
                        "environments": ARR, "approvals": {"type": "integer"}, "links": OBJ}),
    "RepositoryList": _obj({"items": {"type": "array", "items": _ref("Repository")}}),
    "Serving": _obj({"environment": STR, "repository": STR, "digest": NSTR, "build_id": NSTR,
                     "since": NSTR}),
    "RepositoryOverview": {"allOf": [_ref("Repository"), _obj({
        "last_builds": {"type": "array", "items": _ref("BuildSummary")},
        "environments": {"type": "array", "items": _ref("Serving")}})]},
    "Environment": _obj({"environment": STR, "image": STR, "repository": STR, "digest": NSTR,
                         "build_id": NSTR, "since": NSTR, "history": ARR}),
    "AuditEvent": _obj({"id": {"type": "integer"}, "at": NSTR, "actor": NSTR, "action": STR,
                        "target": NSTR, "outcome": STR, "detail": NSTR, "data": OBJ}),
    "AuditPage": _page("AuditEvent", NINT),
}


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or STR}


def _path(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": schema or STR}


def _get(summary: str, schema: str, params: list[dict], media: str = "application/json",
         errors: tuple[int, ...] = (404,)) -> dict:
    ok = {"schema": _ref(schema)} if media == "application/json" else {"schema": {}}
    responses = {"200": {"description": "OK", "content": {media: ok}}}
    for status in (400, 401, 403, *errors):
        responses[str(status)] = {"$ref": "#/components/responses/Problem"}
    return {"get": {"summary": summary, "parameters": params, "responses": responses,
                    "security": [{"token": []}]}}


def _post(summary: str, params: list[dict], body: dict | None = None,
          done: tuple[int, ...] = (201,)) -> dict:
    responses = {str(status): {"description": "Done", "content": {"application/json": {
        "schema": OBJ}}} for status in done}
    for status in (400, 401, 403, 404, 409):
        responses[str(status)] = {"$ref": "#/components/responses/Problem"}
    operation = {"summary": summary, "parameters": params, "responses": responses,
                 "security": [{"token": []}]}
    if body:
        operation["requestBody"] = {"required": False, "content": {"application/json": {
            "schema": body}}}
    return {"post": operation}


SHA = {"type": "string", "pattern": "^[0-9a-f]{7,64}$"}
STATUS = {"enum": ["queued", "cloning", "building", "checking", "pushing", "staged", "failed",
                   "rejected", "superseded", "cancelled"]}
BUILD_ID = _path("build_id", "build id")
LIMIT = _query("limit", "page size, 1 to 200", {"type": "integer", "minimum": 1,
                                                  "maximum": 200})
SINCE = _query("since", "ISO 8601 time, inclusive", {"type": "string", "format": "date-time"})
UNTIL = _query("until", "ISO 8601 time, inclusive", {"type": "string", "format": "date-time"})
PATHS = {
    "/api/v1/openapi.json": {"get": {"summary": "This document", "security": [],
                                     "responses": {"200": {"description": "OK", "content": {
                                         "application/json": {"schema": OBJ}}}}}},
    "/api/v1/builds": {**_post("Queue a build of a repository at a ref or commit (scope build)",
                               [], _obj({}, repository=STR, ref=STR, sha=STR),
                               done=(200, 202)),
                       **_get("Builds, newest first", "BuildPage", [
        _query("repository", "full repository name"), _query("ref", "branch, tag or full ref"),
        _query("status", "a build status", STATUS),
        _query("sha", "commit id prefix, 7+ hex digits", SHA),
        _query("digest", "image digest prefix: sha256: (optional) and 7 to 64 hex digits",
               {"type": "string", "pattern": "^(sha256:)?[0-9a-f]{7,64}$"}),
        _query("q", "text to find in commit messages (case-insensitive, at most 200 "
                    "characters)", {"type": "string", "maxLength": 200}),
        SINCE, UNTIL, _query("pusher", "who pushed"), LIMIT,
        _query("cursor", "the previous page's `next`", {"type": "string", "format": "uuid"})],
        errors=())},
    "/api/v1/builds/{build_id}": _get("One build", "Build", [BUILD_ID]),
    "/api/v1/builds/{build_id}/log": _get("The build log (follow=1: live, as events; 503 when "
                                          "this web process already serves its followers)",
                                          "Build", [BUILD_ID], media="text/plain",
                                          errors=(404, 503)),
    "/api/v1/builds/{build_id}/sbom": _get("The build's CycloneDX SBOM", "Build", [BUILD_ID],
                                           media="application/vnd.cyclonedx+json"),
    "/api/v1/builds/{build_id}/cancel": _post("Cancel a build (scope build)", [BUILD_ID],
                                              _obj({}, by=STR), done=(200, 202)),
    "/api/v1/builds/{build_id}/retry": _post("Build the same commit again (scope build)",
                                             [BUILD_ID], _obj({}, by=STR)),
    "/api/v1/builds/{build_id}/approvals": _post(
        "Approve or reject the build's digest (scope approve)", [BUILD_ID],
        _obj({"decision": {"enum": ["approve", "reject"]}}, comment=STR, digest=STR)),
    "/api/v1/commits/{sha}": _get("Every build of a commit", "CommitBuilds",
                                  [_path("sha", "commit id or prefix, 7+ hex digits", SHA)]),
    "/api/v1/images/{digest}": _get("Lineage of an image digest", "Image",
                                    [_path("digest", "sha256:<64 hex>",
                                           {"type": "string",
                                            "pattern": "^sha256:[0-9a-f]{64}$"})]),
    "/api/v1/repositories": _get("Configured repositories", "RepositoryList", [], errors=()),
    "/api/v1/repositories/{name}": _get("One repository", "RepositoryOverview",
                                        [_path("name", "full repository name")]),
    "/api/v1/environments/{environment}/{image}": _get(
        "An environment's timeline for an image", "Environment",
        [_path("environment", "environment name"), _path("image", "image name")]),
    "/api/v1/signing-keys": {"get": {
        "summary": "Image-signing public keys (PEM, ids, active/retired); no token needed",
        "security": [], "responses": {"200": {"description": "OK", "content": {
            "application/json": {"schema": _ref("SigningKeys")}}}}}},
    "/api/v1/audit": _get("Audit events, newest first", "AuditPage", [
        _query("actor", "who did it"), _query("action", "what was done"), SINCE, UNTIL, LIMIT,
        _query("cursor", "the previous page's `next`", {"type": "integer", "minimum": 1})],
        errors=()),
}


@cache
def document() -> dict:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Lockmaster history and lineage API", "version": "1"},
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "responses": {"Problem": {"description": "What was wrong", "content": {
                "application/problem+json": {"schema": _ref("Problem")}}}},
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
        },
    }
