"""Learnproof identity-sync: SCIM provider, requirements, entitlements and the access gate."""
