"""The bodies Lockmaster sends: generic JSON and a Slack-compatible message (plain domain code)."""

from __future__ import annotations

from config import INTEGRITY_ALERT

_ICONS = {"staged": ":white_check_mark:", "rejected": ":no_entry:", "failed": ":x:",
          "approved": ":thumbsup:", "promoted": ":rocket:", INTEGRITY_ALERT: ":rotating_light:"}


def message_body(kind: str, event: str, build: dict, base_url: str = "") -> dict:
    """The body for one target: `json` is the build record, `slack` a readable summary."""
    if kind == "slack":
        return slack_body(event, build, base_url)
    return {"event": event, "build": build}


def slack_body(event: str, build: dict, base_url: str = "") -> dict:
    """A Slack incoming-webhook body (text plus a section block)."""
    sha = (build.get("commit") or {}).get("sha", "")[:12]
    image = build.get("image") or {}
    line = f"{_ICONS.get(event, '')} {build['repository']} {sha} on {build['ref']}: {event}"
    details = []
    if image.get("digest"):
        details.append(f"`{image['repository']}@{image['digest']}`")
    if build.get("error"):
        details.append(f"reason: {build['error']}")
    link = f"{base_url}/api/v1/builds/{build['id']}"
    text = " \n".join([line.strip(), *details, link])
    return {"text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def alert_body(kind: str, alert: dict) -> dict:
    """The body of an integrity alert: `json` is the alert record, `slack` a readable summary."""
    if kind != "slack":
        return {"event": INTEGRITY_ALERT, "alert": alert}
    text = (f"{_ICONS[INTEGRITY_ALERT]} integrity alert in {alert['environment']}: "
            f"{alert['reason']} \nregistry event {alert['event_id']}")
    return {"text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}
