"""Operating Lockmaster: structured logs (and, later, metrics)."""
