"""The domain of STS Studio. Nothing under this package imports Qt (tests check it)."""
