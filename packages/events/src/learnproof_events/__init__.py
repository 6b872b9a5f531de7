"""Event plumbing shared by the Learnproof services."""
