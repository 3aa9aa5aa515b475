"""Recorded streams for differential tests: a seeded mixed stream, the reference runner, golden outputs."""
