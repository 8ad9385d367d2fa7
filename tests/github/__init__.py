"""Tests of the GitHub Action: its pure parts, and its entry point end to end."""
