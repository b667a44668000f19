"""Webhook intake: each Git host's delivery becomes a provider-neutral PushEvent."""
