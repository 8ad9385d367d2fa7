"""Helpers shared by the tests and the benches (serving the emulator); not shipped in the wheel."""
