"""LRS entrypoints layer."""
