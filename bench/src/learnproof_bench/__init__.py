"""Learnproof benchmarks (`make bench`)."""
