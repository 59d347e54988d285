"""``gan-mnist benchmark --profile`` (``scripts/benchmark.py --profile``): where a training
step's time goes, by kind of op.

TensorFlow's own tracer (``RunOptions(trace_level=FULL_TRACE)``) times every op of a few fused
steps after the warm-up; the times are summed by op type and per step, so a change to the step
shows which ops it removed or made cheaper. Summed over the threads that ran them, they add up
to more than the step's wall time on a machine with several cores.
"""
import collections

TRACED_STEPS = 20
KINDS = (  # op type prefix -> the kind it is counted under
    ("Conv2D", "convolutions"), ("FusedConv2D", "convolutions"),
    ("DepthwiseConv2d", "convolutions"), ("MatMul", "matmuls"),
    ("BatchMatMul", "matmuls"), ("_FusedMatMul", "matmuls"), ("_FusedConv2D", "convolutions"),
    ("ResourceApply", "optimiser updates"), ("Assign", "variable writes"),
    ("ReadVariableOp", "variable reads"),
)


def kind_of(op_type):
    for prefix, kind in KINDS:
        if op_type.startswith(prefix):
            return kind
    return "other (elementwise, reductions, ...)"


def kernel_of(node, graph_type):
    """What the runtime ran for a traced node: the kernel its label names ("name = Kernel(...)"),
    without oneDNN's _Mkl/_MklNative prefix; else the graph's op type. A convolution that
    oneDNN fused with the bias add after it runs as FusedConv2D under the add's node, which the
    graph still calls AddV2."""
    label = node.timeline_label.split(" = ", 1)
    if len(label) < 2 or "(" not in label[1]:
        return graph_type
    kernel = label[1].split("(", 1)[0].strip()
    for prefix in ("_MklNative", "_Mkl"):
        if kernel.startswith(prefix):
            return kernel[len(prefix):]
    return kernel or graph_type


def trace(session, op, graph, steps=TRACED_STEPS):
    """{op type: [ops run per step, milliseconds per step]} over ``steps`` traced runs."""
    from gan_mnist.tf_compat import tf

    options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
    totals = collections.defaultdict(lambda: [0, 0.0])
    for _ in range(steps):
        metadata = tf.RunMetadata()
        session.run(op, options=options, run_metadata=metadata)
        for device in metadata.step_stats.dev_stats:
            for node in device.node_stats:
                name = node.node_name.split(":")[0]
                try:
                    op_type = kernel_of(node, graph.get_operation_by_name(name).type)
                except (KeyError, ValueError):
                    continue  # the runtime's own entries (_SOURCE, ...), not ops of the graph
                totals[op_type][0] += 1
                totals[op_type][1] += node.all_end_rel_micros / 1000.0
    return {t: [count / steps, ms / steps] for t, (count, ms) in totals.items()}


def run(args, build_session, warmup_steps):
    """The fused step of the benchmark's recipe, traced after ``warmup_steps`` untimed ones;
    returns the rows of ``trace``."""
    session, op = build_session(args)
    for _ in range(warmup_steps):
        session.run(op)
    return trace(session, op, session.graph)


def format_profile(by_type, top=12):
    """Per kind, then the op types that take the most time, each with ops and ms per step."""
    total = sum(ms for _, ms in by_type.values()) or 1e-9
    kinds = collections.defaultdict(lambda: [0.0, 0.0])
    for op_type, (count, ms) in by_type.items():
        kinds[kind_of(op_type)][0] += count
        kinds[kind_of(op_type)][1] += ms
    lines = ["%-38s %9s %9s %7s" % ("kind of op", "ops/step", "ms/step", "share")]
    for kind, (count, ms) in sorted(kinds.items(), key=lambda kv: -kv[1][1]):
        lines.append("%-38s %9.0f %9.2f %6.1f%%" % (kind, count, ms, 100 * ms / total))
    lines.append("%-38s %9.0f %9.2f %6.1f%%" % (
        "all ops", sum(c for c, _ in by_type.values()), total, 100.0))
    lines += ["", "%-38s %9s %9s %7s" % ("op type (the %d slowest)" % top, "ops/step",
                                         "ms/step", "share")]
    for op_type, (count, ms) in sorted(by_type.items(), key=lambda kv: -kv[1][1])[:top]:
        lines.append("%-38s %9.0f %9.2f %6.1f%%" % (op_type, count, ms, 100 * ms / total))
    return "\n".join(lines)
