"""The speed benchmark, ``gan-mnist benchmark`` (``python scripts/benchmark.py``): the tutorials'
feed_dict loop, our training step, the train command, and the same networks in Keras and in
PyTorch, each timed in a process of its own (speed.py runs them, workers.py measures one,
profile.py traces the step). PyTorch is the optional benchmark extra: ``pip install
gan_mnist[benchmark]``; nothing that trains imports this package."""
