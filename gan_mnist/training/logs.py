"""Where the numbers of a run go: a CSV file and TensorBoard, both in the output folder."""
import csv
import os
import time

from gan_mnist.files import atomic_write
from gan_mnist.training.images import png_bytes
from gan_mnist.tf_compat import tf

CSV_NAME = "log.csv"
CSV_FIELDS = ("step", "d_loss", "g_loss", "d_real", "d_fake", "fid", "inception_score",
              "label_accuracy", "wall_time")  # label_accuracy: conditional runs only


class MetricsLog:
    """Appends one CSV row and one set of TensorBoard scalars per logged step.

    On resume, rows and events from beyond the restored step (logged after the last checkpoint
    of a run that was then killed) are dropped, so the log matches the weights.
    """

    def __init__(self, output_dir, graph=None, resume_step=0):
        self.path = os.path.join(output_dir, CSV_NAME)
        rows = _read_rows(self.path) if resume_step else []
        # A row cut short by a kill lacks its last field; rows past the checkpoint are undone.
        rows = [r for r in rows if r.get("wall_time") and _int(r.get("step")) is not None
                and _int(r["step"]) <= resume_step]
        with atomic_write(self.path, newline="") as f:
            writer = csv.DictWriter(f, CSV_FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        self._file = open(self.path, "a", newline="")
        self._csv = csv.DictWriter(self._file, CSV_FIELDS, extrasaction="ignore")
        self._events = tf.summary.FileWriter(output_dir, graph if not resume_step else None)
        # Tells TensorBoard to discard an earlier, killed run's events past the checkpoint: it
        # drops those at this step and later, so the restored step's own grid and scalars stay.
        self._events.add_session_log(tf.SessionLog(status=tf.SessionLog.START), resume_step + 1)

    def scalars(self, step, **values):
        self._csv.writerow(dict(values, step=step, wall_time="%.3f" % time.time()))
        self._file.flush()
        summary = tf.Summary(value=[tf.Summary.Value(tag=name, simple_value=float(value))
                                    for name, value in values.items()])
        self._events.add_summary(summary, step)

    def image(self, tag, grey_uint8, step):
        height, width = grey_uint8.shape
        image = tf.Summary.Image(height=height, width=width, colorspace=1,
                                 encoded_image_string=png_bytes(grey_uint8))
        self._events.add_summary(tf.Summary(value=[tf.Summary.Value(tag=tag, image=image)]), step)

    def close(self):
        self._file.close()
        self._events.close()


def _read_rows(path):
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _int(text):
    try:
        return int(text)
    except (TypeError, ValueError):
        return None
