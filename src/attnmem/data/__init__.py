"""Datasets and generated tasks."""
