"""The catalogue of event kinds and the one event log every process appends to."""
