"""Use cases of identity-sync, each run inside one database transaction."""
