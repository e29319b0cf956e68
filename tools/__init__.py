"""Operator commands: each reads the settings once and drives the libraries (python -m tools.<name>)."""
