"""Record formats and readers: the one JSONL reader, raw rows -> normalized records, records -> model
text (chat_format) and model text -> tool calls. Imports only tracelora.common."""
