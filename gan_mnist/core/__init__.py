"""The GAN itself: data -> pipeline -> layers and networks -> gan (G and D, losses, train ops).

Nothing here knows about training loops, checkpoints or evaluation, nor reads the Config; those
sit above.
"""
