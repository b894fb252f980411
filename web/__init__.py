"""The HTTP surface of the assistant: API, OpenAI-compatible endpoints, web widget, metrics."""
