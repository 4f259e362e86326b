"""Bringing data in: the import wizard, Suggest pairs… and Merge labels…."""
