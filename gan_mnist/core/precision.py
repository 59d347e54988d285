"""--precision: the number type G's and D's convolutions compute in while training.

On a CPU with bfloat16 dot products (AVX-512 BF16, or AMX) TensorFlow's oneDNN kernels run a
convolution in bfloat16 at up to twice the multiply-adds per instruction; on `--recipe best`'s
step that is 1.13x to 1.33x the steps per second (docs/results.md, "Speed"). Only the convolutions'
inputs and outputs are cast: weights, Adam, the EMA, batch norm, the losses and the dense layers
stay float32, and the sampling generator (grids, evaluation, export) computes in float32.

``auto`` decides at start, from the CPU: bfloat16 where it has those instructions and oneDNN is
on (TensorFlow's default on x86 Linux), float32 elsewhere, including GPU machines (untested
here). So the same seed gives the same digits on the same machine, not across machines.
"""
import os

CHOICES = ("float32", "bfloat16", "auto")
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo's names for them
CPUINFO = "/proc/cpuinfo"


def cpu_bf16_flags(cpuinfo=CPUINFO):
    """The bfloat16 instruction sets /proc/cpuinfo lists, e.g. ['amx_bf16', 'avx512_bf16'];
    [] where there is none, or no such file (macOS, Windows)."""
    try:
        with open(cpuinfo) as f:
            flags = {word for line in f if line.startswith("flags")
                     for word in line.split(":", 1)[1].split()}
    except OSError:
        return []
    return sorted(flag for flag in BF16_CPU_FLAGS if flag in flags)


def onednn_on():
    """Whether TensorFlow uses oneDNN's kernels (TF_ENABLE_ONEDNN_OPTS=0 turns them off, and
    without them a bfloat16 convolution is slower, not faster)."""
    return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "1").lower() not in ("0", "false")


def convolution_dtype(precision, cpuinfo=CPUINFO):
    """tf.bfloat16 or tf.float32: what ``precision`` (one of CHOICES) means on this machine."""
    from gan_mnist.tf_compat import tf  # here, so that the Config can name CHOICES cheaply
    if precision == "bfloat16":
        return tf.bfloat16
    if precision == "auto" and cpu_bf16_flags(cpuinfo) and onednn_on() and not _gpu_visible():
        return tf.bfloat16
    return tf.float32


def describe(precision):
    """One line for the start of a run that does not compute in float32 alone, else None."""
    if convolution_dtype(precision).name == "float32":
        return None
    if precision == "bfloat16":
        return "convolutions compute in bfloat16 (--precision bfloat16)"
    return ("convolutions compute in bfloat16 (--precision auto: this CPU has %s; "
            "--precision float32 turns it off)" % ", ".join(cpu_bf16_flags()))


def _gpu_visible():
    from gan_mnist.tf_compat import tf
    return bool(tf.config.list_physical_devices("GPU"))
