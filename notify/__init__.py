"""Outgoing notifications: signed JSON or Slack-style messages when a build or promotion moves."""
