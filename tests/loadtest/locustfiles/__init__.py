"""Locustfiles for the runner's own tests: users that misbehave on purpose when a run ends."""
