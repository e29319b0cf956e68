"""Test helpers shared by several areas of the tests (each area's own are in its conftest.py or harness.py)."""
