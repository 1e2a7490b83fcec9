"""Benchmarks that print numbers (speed goals are measured here, not asserted in tests)."""
