"""The Pairs view: the table of every pair."""
