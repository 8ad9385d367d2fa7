"""Property-based tests: Hypothesis state machines over the whole engine."""
