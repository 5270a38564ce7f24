"""Pandera data contracts for each stage: normalized events, sessions, the report."""
