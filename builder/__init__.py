"""Building images: the RQ jobs that take a queued build to staged."""
