"""Packaging the shipped pipelines: wheels, the clean-venv check."""
