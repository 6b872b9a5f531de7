"""Pure identity-sync rules: SCIM resources, actors, requirements and compliance states."""
