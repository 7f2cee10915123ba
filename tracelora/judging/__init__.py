"""Judging an adapter: per-example metrics, paired bootstrap CIs, the fail-closed gate rules.
Imports common and formats."""
