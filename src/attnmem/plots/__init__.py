"""Figures; every function writes a PNG and a PDF of the same figure."""
