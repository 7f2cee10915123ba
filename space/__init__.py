"""The Hugging Face Space's pure logic: generation options -> records (via stages.lib.synthesis and
the build's own DatasetBuilder), OpenClaw session export, bundles, statistics, upload validation and
HTML previews. `app.py` only wires these to Gradio components."""
