"""Entrypoints: the HTTP query API, the consumer process and the CLI."""
