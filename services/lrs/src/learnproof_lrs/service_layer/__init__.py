"""LRS service_layer layer."""
