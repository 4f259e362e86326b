"""The Try view: score a pair, search, and evaluate a run (``try`` is a keyword, hence the name)."""
