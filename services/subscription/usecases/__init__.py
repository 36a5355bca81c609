"""The use cases both entry points call: api/ (JSON) and web/ (pages) parse, call, render."""
