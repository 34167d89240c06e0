"""Development tools: never imported by the API or the worker."""
