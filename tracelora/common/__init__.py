"""Plumbing shared by every stage: params, atomic IO, logging."""
