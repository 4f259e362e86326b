"""The Train view: the form, the live plots, the worker and the run history."""
