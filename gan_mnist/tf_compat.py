"""One place that imports TensorFlow in TF1 graph mode, quietly.

Every module that builds graphs does ``from gan_mnist.tf_compat import tf``. This works the same on
TensorFlow 1.15 (which ships ``tensorflow.compat.v1``) and on current 2.x.
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide C++ info/warning chatter

import tensorflow.compat.v1 as tf  # noqa: E402

tf.get_logger().setLevel("ERROR")  # deprecation notices of the compat.v1 API are expected here
tf.disable_v2_behavior()
# Resource variables give well-defined read-after-write ordering, which the fused D-then-G step
# relies on; they are also what TF2 uses everywhere.
tf.enable_resource_variables()

__all__ = ["tf"]
