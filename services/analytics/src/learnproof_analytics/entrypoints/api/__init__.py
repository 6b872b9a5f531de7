"""The JSON query API (FastAPI)."""
