"""Micro-sweeps (confirmation experiments) and the stability lab (`mlstablint sweep`)."""
