"""Cleaning a normalized record: redaction (rule table on RE2), quality filters, near-dedup signatures,
the content-hash split. Pure functions of a record and the params; imports common and formats."""
