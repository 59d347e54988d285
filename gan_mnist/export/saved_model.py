"""Take the generator anywhere: a TensorFlow SavedModel (and optionally a TFLite file) that needs
nothing of this package to run.

Signatures of the SavedModel (tag ``serve``):
- ``generate``: ``z`` float32 [N, z_dim] -> ``digits`` uint8 [N, 28, 28] (0 black ... 255 white),
  the same digits ``sample.py`` writes for the same noise. Also the ``serving_default``.
- ``sample``: ``seed`` int64 [], ``n`` int32 [] -> ``digits`` and the ``z`` it drew (uniform in
  [-1, 1], stateless in the seed: the same seed gives the same digits).
A --conditional model's ``generate`` also takes ``label`` int32 [N] (the class of each digit),
and its ``sample`` draws the classes in turn (0, 1, ..., 9, 0, ...) and returns them as ``label``.

It loads with ``tf.saved_model.load(DIR).signatures["generate"]`` in plain TensorFlow 2, and is
the format TensorFlow Serving reads.
"""
import os
import shutil
import tempfile

from gan_mnist.files import new_folder
from gan_mnist.training import checkpoints
from gan_mnist.core import gan
from gan_mnist.evaluation import sampling
from gan_mnist.tf_compat import tf

TFLITE_FILE = "generator.tflite"  # the 'generate' signature (gan_mnist.export.tflite)


def _to_uint8(images):
    """The graph version of data.to_uint8: [-1, 1] -> 0..255, rounding half to even like rint."""
    pixels = tf.clip_by_value(tf.round((images + 1.0) * 127.5), 0.0, 255.0)
    return tf.cast(tf.reshape(pixels, [-1, 28, 28]), tf.uint8)


def _digits(z, model, reuse, label=None):
    classes = model.conditioning.classes
    labels = tf.one_hot(label, classes, dtype=tf.float32) if classes else None
    return _to_uint8(gan.to_tanh_range(
        gan.generator(z, model.config.model_spec(), model.conditioning, reuse=reuse,
                      training=False, labels=labels), model.config.arch))


def export(checkpoint_dir, out_dir, tflite=False):
    """Write the newest checkpoint's generator to ``out_dir`` (which must not exist yet); return
    (the checkpoint's step, the files written)."""
    return export_model(sampling.newest_model(checkpoint_dir), out_dir, tflite)


def export_model(model, out_dir, tflite=False):
    """``export`` for a model already found (gan_mnist.evaluation.sampling.newest_model)."""
    config, path = model.config, model.path
    with new_folder(out_dir, "--out") as parent:
        graph = tf.Graph()
        with graph.as_default():
            z = tf.placeholder(tf.float32, [None, config.z_dim], name="z")
            classes = model.conditioning.classes
            label = tf.placeholder(tf.int32, [None], name="label") if classes else None
            digits = _digits(z, model, reuse=False, label=label)
            seed = tf.placeholder(tf.int64, [], name="seed")
            n = tf.placeholder(tf.int32, [], name="n")
            drawn = tf.random.stateless_uniform(tf.stack([n, config.z_dim]),
                                                seed=tf.stack([seed, tf.constant(0, tf.int64)]),
                                                minval=-1.0, maxval=1.0)
            in_turn = tf.math.floormod(tf.range(n), max(classes, 1))
            sampled = _digits(drawn, model, reuse=True, label=in_turn)
            variables = sampling.generator_variables(config)  # --ema: the averages
            saver = tf.train.Saver(variables)
        signature = tf.saved_model.signature_def_utils.predict_signature_def
        generate_inputs, sample_outputs = {"z": z}, {"digits": sampled, "z": drawn}
        if classes:
            generate_inputs["label"], sample_outputs["label"] = label, in_turn
        generate = signature(inputs=generate_inputs, outputs={"digits": digits})
        with tf.Session(graph=graph) as session:
            checkpoints.restore_from(session, saver, path, variables)
            # Written next to its final place, then renamed: no half-written model under --out.
            scratch = tempfile.mkdtemp(prefix=".export-", dir=parent)
            try:
                staged = os.path.join(scratch, "model")
                builder = tf.saved_model.Builder(staged)
                builder.add_meta_graph_and_variables(
                    session, [tf.saved_model.tag_constants.SERVING],
                    signature_def_map={"generate": generate, "serving_default": generate,
                                       "sample": signature(inputs={"seed": seed, "n": n},
                                                           outputs=sample_outputs)},
                    strip_default_attrs=True)
                builder.save()
                if tflite:
                    from gan_mnist.export import tflite as tflite_lib

                    tflite_lib.convert(staged, os.path.join(staged, TFLITE_FILE))
                os.replace(staged, out_dir)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    files = [out_dir] + ([os.path.join(out_dir, TFLITE_FILE)] if tflite else [])
    return model.step, files
