"""Entry points of identity-sync: HTTP routes, the statement consumer and the CLI."""
