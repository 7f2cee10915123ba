"""The Hugging Face Space's pure logic: generation options -> records (via tracelora.dataset.synthesis and
the build's own per-record step, tracelora.dataset.pipeline.RecordStep), bundles (OpenClaw sessions written by
tracelora.formats.openclaw_sessions), statistics, upload validation and HTML previews. `app.py` only wires these to Gradio components."""
