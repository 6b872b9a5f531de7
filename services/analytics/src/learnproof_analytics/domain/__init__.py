"""Pure analytics domain: statement facts, the projection fold and the figures (no I/O)."""
