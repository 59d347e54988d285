"""The GAN itself: data -> pipeline -> layers -> models -> losses -> train ops.

Nothing here knows about training loops, checkpoints or evaluation; those sit above.
"""
