"""The body of an integrity alert notification, in both formats."""

from config import INTEGRITY_ALERT, NOTIFICATION_EVENTS
from notify.messages import alert_body

ALERT_RECORD = {"event_id": "ev-1", "action": "push", "repository": "production/acme/web",
                "environment": "production", "image": "acme/web", "tag": "latest",
                "digest": "sha256:" + "a" * 64, "actor": "lockmaster-promoter",
                "reason": "tag latest of production/acme/web was pushed by someone"}


def test_the_json_body_is_the_alert_record():
    assert alert_body("json", ALERT_RECORD) == {"event": "integrity.alert", "alert": ALERT_RECORD}


def test_the_slack_body_names_the_environment_the_reason_and_the_registry_event():
    text = alert_body("slack", ALERT_RECORD)["text"]
    assert "integrity alert in production" in text
    assert ALERT_RECORD["reason"] in text and "registry event ev-1" in text


def test_targets_get_alerts_unless_their_events_leave_them_out():
    assert INTEGRITY_ALERT in NOTIFICATION_EVENTS
