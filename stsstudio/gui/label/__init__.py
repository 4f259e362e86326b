"""The Label view: the pair on screen, the score, the queue, the model's guess and the guidelines."""
