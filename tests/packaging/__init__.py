"""The product apart from the development tools: what ships, what `run` loads."""
