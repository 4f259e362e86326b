"""The Export view and File ▸ Back up…."""
