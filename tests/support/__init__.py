"""Helpers shared by the tests (importable as ``support``: pytest adds tests/ to the path)."""
