"""Approval and promotion: the gate between staging and production."""
