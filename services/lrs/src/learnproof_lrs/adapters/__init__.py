"""LRS adapters layer."""
