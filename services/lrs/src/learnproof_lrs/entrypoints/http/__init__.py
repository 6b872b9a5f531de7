"""The xAPI HTTP interface (FastAPI)."""
