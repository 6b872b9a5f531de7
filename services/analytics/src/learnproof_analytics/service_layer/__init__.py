"""Use cases of the analytics service: the queries the API answers."""
