"""The OpenAPI document is valid and the app's real answers match it (schemathesis)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate
from schemathesis.specs.openapi.checks import positive_data_acceptance

from api import UNROUTED
from tests.support.history import seed
from tests.support.stack import repo_entry


def test_the_openapi_document_is_valid_and_covers_the_api(make_app, source_repo):
    app = make_app([repo_entry(source_repo)])
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    validate(document)
    documented = {(path, method.upper()) for path, operations in document["paths"].items()
                  for method in operations}
    served = {(_template(rule.rule), method) for rule in app.url_map.iter_rules()
              if rule.rule.startswith("/api/v1/") and rule.endpoint != UNROUTED  # 404/405s
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served <= documented, served - documented


def test_every_endpoint_answers_as_the_document_says(make_app, source_repo):
    app = make_app([repo_entry(source_repo)])
    build_id = seed(app, 3, digest="sha256:" + "1" * 64)[-1]
    headers = {"Authorization": f"Bearer {app.config['TEST_TOKEN']}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    # The reads only: the writes queue and cancel real builds (their own tests cover them).
    operations = [result.ok() for result in schema.get_all_operations()
                  if result.ok().method.upper() == "GET"]
    assert len(operations) >= 10
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            # A schema-valid query can still make no sense (since after until): 400 is right.
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        check()
    real = {"/api/v1/builds/{build_id}": {"build_id": build_id},
            "/api/v1/builds/{build_id}/log": {"build_id": build_id},
            "/api/v1/commits/{sha}": {"sha": "0000001"},
            "/api/v1/images/{digest}": {"digest": "sha256:" + "1" * 64},
            "/api/v1/repositories/{name}": {"name": "acme/web"},
            "/api/v1/environments/{environment}/{image}": {"environment": "production",
                                                           "image": "acme/web"}}
    for path, parameters in real.items():
        response = schema[path]["GET"].Case(path_parameters=parameters).call_and_validate(
            headers=headers)
        assert response.status_code == 200, (path, response.text)


def _template(rule: str) -> str:
    for converter in ("<path:", "<"):
        rule = rule.replace(converter, "{")
    return rule.replace(">", "}")
