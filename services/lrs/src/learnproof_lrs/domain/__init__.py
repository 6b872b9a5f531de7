"""LRS domain layer."""
