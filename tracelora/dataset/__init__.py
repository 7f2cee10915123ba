"""The dataset build: per-chunk processing with its accounting (pipeline), the content-hash cache,
generated examples (synthesis) and the build driver. Imports common, formats and cleaning."""
