"""Qt views and dialogs of STS Studio. They call stsstudio.core, never the other way round."""
