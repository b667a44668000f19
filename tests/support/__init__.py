"""Helpers the tests share (fixtures stay in each suite's conftest.py)."""
