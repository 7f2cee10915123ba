"""The model: where the base comes from, training (TRL), session windows, packing, generation, export.
Imports common and formats; torch and transformers are imported inside functions."""
