"""Reliability suites: fault convergence, crash recovery, hostile input and secret leaks."""
