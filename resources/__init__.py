"""Runtime resources of STS Studio (icons, demo data, guidelines); read with importlib.resources."""
