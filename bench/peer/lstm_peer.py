"""Peer benchmark: the same LSTM forecaster in PyTorch and Keras, side by side
with Vigil's Go step (internal/model). Not part of the product.

Streaming (inference), per framework and per config (layers x units, batch):
  one reading at a time, state (h, c) carried from step to step, 5 inputs
  (value + 4 calendar features), 1 output, one thread.
  - PyTorch: torch.nn.LSTM + Linear, torch.set_num_threads(1),
    torch.inference_mode(), input of shape (1, batch, 5) per step.
  - Keras (TensorFlow backend): LSTM(stateful=True) + Dense, fixed batch,
    one reading per call; the step is a tf.function (the fastest way Keras
    offers to step; plain eager calls are slower still), one intra/inter-op
    thread.
  Reported: ns per series-step = time per call / batch; the best of
  --repeats timed runs (the machine is shared and noisy; the Go figures are
  likewise the best of several -count runs).

Training, seconds per epoch on NAB realKnownCause/nyc_taxi.csv, with the
settings of Vigil's BenchmarkTrainEpoch (DefaultTrainConfig):
  1 layer x 32 units, 5 inputs (robust-scaled value, sin/cos time of day,
  sin/cos day of week), 1 output (next scaled reading), first 80% of the
  series for training, batch 16 parallel contiguous streams, segments of
  seq len 16, stateful truncated BPTT (state carried across segments, not
  back-propagated through), Adam lr 1e-2, MSE, gradient-norm clipping 1,
  one thread. Epoch = one pass over all segments (no validation).
"""

import argparse
import csv
import datetime as dt
import math
import os
import re
import sys
import time

# One thread everywhere, before the frameworks start their pools.
for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
            "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ[var] = "1"
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

INPUTS, OUTPUTS = 5, 1
TRAIN = dict(hidden=[32], batch=16, seq_len=16, lr=1e-2, clip=1.0, val_fraction=0.2)


def parse_config(name):
    """'2x64' -> [64, 64]"""
    layers, units = name.split("x")
    return [int(units)] * int(layers)


def timed(fn, min_time):
    """Calls fn() until min_time seconds of CPU time have passed; returns
    (CPU s per call, wall s per call). CPU time is the process's (all
    threads), which on a shared machine leaves out the time other processes
    held the core; Vigil's cpu-ns/series-step is measured the same way."""
    fn()  # warm up
    n, c0, t0 = 0, time.process_time(), time.perf_counter()
    while True:
        fn()
        n += 1
        cpu = time.process_time() - c0
        if cpu >= min_time:
            return cpu / n, (time.perf_counter() - t0) / n


def best(runs, batch):
    """Best (CPU, wall) ns per series-step of several timed runs."""
    runs = list(runs)
    return min(r[0] for r in runs) / batch * 1e9, min(r[1] for r in runs) / batch * 1e9


# ---- PyTorch ----------------------------------------------------------------

def torch_stream(hidden, batch, min_time, repeats):
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(INPUTS, hidden[0], num_layers=len(hidden))
    head = torch.nn.Linear(hidden[0], OUTPUTS)
    lstm.eval()
    head.eval()
    x = torch.randn(1, batch, INPUTS)
    state = [None]
    with torch.inference_mode():
        def step():
            out, state[0] = lstm(x, state[0])
            return head(out[0])
        return best((timed(step, min_time) for _ in range(repeats)), batch)


def torch_epoch(data, epochs):
    import torch
    torch.set_num_threads(1)
    torch.manual_seed(1)
    xs, ys, ws = (torch.from_numpy(a) for a in data)  # (L, B, 5), (L, B, 1), (L, B, 1)
    H, T = TRAIN["hidden"], TRAIN["seq_len"]
    lstm = torch.nn.LSTM(INPUTS, H[0], num_layers=len(H))
    head = torch.nn.Linear(H[0], OUTPUTS)
    params = list(lstm.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=TRAIN["lr"])

    def epoch():
        state = None
        for s in range(0, xs.shape[0], T):
            x, y, w = xs[s:s + T], ys[s:s + T], ws[s:s + T]
            out, state = lstm(x, state)
            pred = head(out)
            loss = ((pred - y) ** 2 * w).sum() / w.sum().clamp(min=1)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, TRAIN["clip"])
            opt.step()
            state = tuple(t.detach() for t in state)

    return time_epochs(epoch, epochs)


def time_epochs(epoch, epochs):
    """(CPU s, wall s) per epoch, best of the timed epochs after a warm-up."""
    epoch()
    cpu, wall = [], []
    for _ in range(epochs):
        c0, t0 = time.process_time(), time.perf_counter()
        epoch()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - t0)
    return min(cpu), min(wall)


# ---- Keras ------------------------------------------------------------------

def keras_setup():
    import tensorflow as tf
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # already initialised with the environment's single thread
    import keras
    keras.utils.set_random_seed(1)
    return tf, keras


def keras_model(keras, hidden, batch, seq_len):
    inp = keras.Input(batch_shape=(batch, seq_len, INPUTS))
    h = inp
    for l, units in enumerate(hidden):
        last = l == len(hidden) - 1
        h = keras.layers.LSTM(units, stateful=True, return_sequences=(seq_len > 1 or not last))(h)
    out = keras.layers.Dense(OUTPUTS)(h)
    return keras.Model(inp, out)


def keras_reset(model):
    for layer in model.layers:
        for name in ("reset_state", "reset_states"):
            fn = getattr(layer, name, None)
            if fn is not None and getattr(layer, "stateful", False):
                fn()
                break


def keras_stream(hidden, batch, min_time, repeats):
    tf, keras = keras_setup()
    model = keras_model(keras, hidden, batch, 1)
    x = tf.constant(np.random.default_rng(1).standard_normal((batch, 1, INPUTS)).astype(np.float32))
    step = tf.function(lambda x: model(x, training=False))
    return best((timed(lambda: step(x), min_time) for _ in range(repeats)), batch)


def keras_epoch(data, epochs):
    tf, keras = keras_setup()
    xs, ys, ws = data
    H, B, T = TRAIN["hidden"], TRAIN["batch"], TRAIN["seq_len"]
    # (L, B, ...) time-major -> (B, L, ...) batch-major, as Keras wants.
    xs, ys, ws = (np.ascontiguousarray(a.transpose(1, 0, 2)) for a in (xs, ys, ws))
    model = keras_model(keras, H, B, T)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=TRAIN["lr"], clipnorm=TRAIN["clip"]), loss="mse")

    def epoch():
        keras_reset(model)
        for s in range(0, xs.shape[1], T):
            model.train_on_batch(xs[:, s:s + T], ys[:, s:s + T], sample_weight=ws[:, s:s + T, 0])

    return time_epochs(epoch, epochs)  # the warm-up epoch traces the graph


# ---- data ---------------------------------------------------------------------

def nyc_taxi(path):
    """Training tensors as Vigil's trainer builds them: (L, B, 5) inputs,
    (L, B, 1) next-step targets and (L, B, 1) weights (0 on padding), the
    training part cut into B contiguous streams of L = ceil(n/B) steps."""
    ts, vals = [], []
    with open(path) as f:
        for row in csv.DictReader(f):
            ts.append(dt.datetime.strptime(row["timestamp"], "%Y-%m-%d %H:%M:%S"))
            vals.append(float(row["value"]))
    vals = np.array(vals)
    n0 = int(round(len(vals) * (1 - TRAIN["val_fraction"])))
    train = vals[:n0]
    q1, med, q3 = np.percentile(train, [25, 50, 75])
    spread = (q3 - q1) / 1.349 or 1.0
    scaled = ((vals - med) / spread).astype(np.float32)
    feats = np.zeros((len(vals), INPUTS), np.float32)
    feats[:, 0] = scaled
    for i, t in enumerate(ts):
        sec = t.hour * 3600 + t.minute * 60 + t.second
        tod = 2 * math.pi * sec / 86400
        dow = 2 * math.pi * ((t.weekday() + 1) % 7 + sec / 86400) / 7  # Sunday = 0, as Go
        feats[i, 1:] = (math.sin(tod), math.cos(tod), math.sin(dow), math.cos(dow))
    n = n0 - 1  # (x_t, y_{t+1}) pairs
    B = TRAIN["batch"]
    L = -(-n // B)
    xs = np.zeros((L, B, INPUTS), np.float32)
    ys = np.zeros((L, B, 1), np.float32)
    ws = np.zeros((L, B, 1), np.float32)
    for b in range(B):
        lo, hi = b * L, min((b + 1) * L, n)
        if lo >= hi:
            continue
        xs[:hi - lo, b] = feats[lo:hi]
        ys[:hi - lo, b, 0] = scaled[lo + 1:hi + 1]
        ws[:hi - lo, b, 0] = 1
    return xs, ys, ws


# ---- Go results and the table -------------------------------------------------

GO_LINE = re.compile(r"^BenchmarkStepBatch/model=(\w+)/batch=(\d+)/kernel=(\w+)\S*\s+\d+\s+.*?([\d.]+) cpu-ns/series-step\s+([\d.]+) ns/series-step")
GO_EPOCH = re.compile(r"^BenchmarkTrainEpoch/train\S*\s+\d+\s+.*?([\d.]+) s/epoch")


def read_go(path):
    """Best (CPU, wall) ns/series-step per (model, batch) of the preferred
    kernel over the -count runs, and the best Go s/epoch (wall) if any."""
    res, epoch = {}, None
    with open(path) as f:
        for line in f:
            m = GO_LINE.match(line)
            if m:
                key, kern = (m.group(1), int(m.group(2))), m.group(3)
                rank = {"avx512": 0, "avx2": 1}.get(kern, 2)
                cpu, wall = float(m.group(4)), float(m.group(5))
                cur = res.get(key)
                if cur is None or rank < cur[0]:
                    res[key] = (rank, cpu, wall)
                elif rank == cur[0]:
                    res[key] = (rank, min(cpu, cur[1]), min(wall, cur[2]))
            m = GO_EPOCH.match(line)
            if m:
                epoch = min(epoch or math.inf, float(m.group(1)))
    return {k: v[1:] for k, v in res.items()}, epoch


def run_isolated(args, what):
    """Each framework in its own process: TensorFlow and PyTorch in one
    process fight over threads and allocators."""
    import subprocess
    cmd = [sys.executable, __file__, "--only", what] + args
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-3000:])
        return {}
    res = {}
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            _, key, cpu, wall = line.split()
            res[key] = (float(cpu), float(wall))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--configs", default="1x32,1x64,2x64")
    ap.add_argument("--batches", default="1,64,256")
    ap.add_argument("--min-time", type=float, default=0.3, help="seconds per timed run")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per config; the best is kept")
    ap.add_argument("--epochs", type=int, default=3, help="timed training epochs (after one warm-up)")
    ap.add_argument("--no-train", action="store_true")
    ap.add_argument("--go-bench", help="output of the Go benchmarks, for the table")
    ap.add_argument("--data", default="testdata/nab/data/realKnownCause/nyc_taxi.csv")
    ap.add_argument("--only", choices=["torch", "keras"], help=argparse.SUPPRESS)
    a = ap.parse_args()
    configs = a.configs.split(",")
    batches = [int(b) for b in a.batches.split(",")]

    if a.only:
        stream = torch_stream if a.only == "torch" else keras_stream
        for c in configs:
            for b in batches:
                cpu, wall = stream(parse_config(c), b, a.min_time, a.repeats)
                print(f"RESULT stream:{c}:{b} {cpu:.1f} {wall:.1f}", flush=True)
        if not a.no_train:
            data = nyc_taxi(a.data)
            epoch = torch_epoch if a.only == "torch" else keras_epoch
            cpu, wall = epoch(data, a.epochs)
            print(f"RESULT epoch {cpu:.4f} {wall:.4f}", flush=True)
        return

    fwd = sys.argv[1:]
    res = {"PyTorch": run_isolated(fwd, "torch"), "Keras": run_isolated(fwd, "keras")}
    go, go_epoch = read_go(a.go_bench) if a.go_bench else ({}, None)

    def fmt(v):
        return "-" if v is None else (f"{v:,.0f}" if v >= 100 else f"{v:.1f}")

    def ratio(vigil, peer):
        return "-" if vigil is None or peer is None else f"{peer / vigil:.1f}x"

    for idx, what in ((0, "CPU time"), (1, "wall time")):
        print()
        print(f"Streaming step, {what}, ns per series-step (best of the repeated runs; lower is better);")
        print("ratio = Vigil throughput / peer throughput")
        hdr = f"{'config':<18}{'Vigil':>10}{'PyTorch':>12}{'Keras':>12}{'Vigil/PyTorch':>15}{'Vigil/Keras':>13}"
        print(hdr)
        print("-" * len(hdr))
        for c in configs:
            for b in batches:
                pick = lambda d, k: d.get(k, (None, None))[idx]
                v = pick(go, (c, b))
                pt = pick(res["PyTorch"], f"stream:{c}:{b}")
                ks = pick(res["Keras"], f"stream:{c}:{b}")
                print(f"{c + ' batch ' + str(b):<18}{fmt(v):>10}{fmt(pt):>12}{fmt(ks):>12}{ratio(v, pt):>15}{ratio(v, ks):>13}")
    if not a.no_train:
        print()
        print("Training, seconds per epoch on nyc_taxi (1x32, batch 16, seq len 16, Adam, MSE, stateful TBPTT, 1 thread)")
        print(f"  Vigil (BenchmarkTrainEpoch/train, wall): {go_epoch if go_epoch is not None else '-'}")
        for name in ("PyTorch", "Keras"):
            e = res[name].get("epoch")
            print(f"  {name + ':':<9}" + ("-" if e is None else f"{e[0]:.3f} CPU, {e[1]:.3f} wall"))


if __name__ == "__main__":
    main()
