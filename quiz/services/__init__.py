"""Writes of the quiz and the image pool, one module per job: votes, images, relabel."""
