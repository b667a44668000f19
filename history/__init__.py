"""The history feature: the builds/images/audit API, its queries, filters and CLI."""
