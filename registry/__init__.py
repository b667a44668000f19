"""Talking to the OCI distribution registry."""
