"""compare.py PYDIR A B NP: the largest difference between two checkpoints' tensors, relative to
each tensor's largest magnitude (examples/mpi/Makefile: NP ranks against one process)."""
import sys

sys.path.insert(0, sys.argv[1])
import numpy as np  # noqa: E402
import tfswa_stream  # noqa: E402

(aa, at), (ba, bt) = (next(iter(tfswa_stream.read(open(p, "rb")))) for p in sys.argv[2:4])
d = max(np.abs(at[n].astype(np.float64) - bt[n]).max() / max(np.abs(at[n]).max(), 1e-30) for n in at)
print("%s (%s ranks, step %s) vs %s (1 process, step %s): largest relative difference of a tensor %.3g"
      % (sys.argv[2], sys.argv[4], aa.get("train_step"), sys.argv[3], ba.get("train_step"), d))
