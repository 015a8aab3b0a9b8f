#!/usr/bin/python3
"""Writes the golden .npy pairs of this folder: c/000000/NAME.npy holds an
array in C order and fortran/000000/NAME.npy the same array as
np.save(f, y.T) writes it for a C-order y (Fortran order). npy2ts must pack
both folders into the same stream (tests/sh/stream_tools.sh).
Run from this folder: /usr/bin/python3 make.py"""
import os

import numpy as np

arrays = {
    "f32": (np.arange(24, dtype=np.float32) * 0.5 - 3).reshape(2, 3, 4),
    "c64": (np.arange(15) + 1j * np.arange(15)[::-1]).astype(np.complex64).reshape(3, 5),
    "i16": np.arange(-6, 6, dtype=np.int16).reshape(2, 1, 3, 2),
    "u8": np.arange(12, dtype=np.uint8).reshape(4, 3),
    "f64": np.linspace(0, 1, 5),
}
for d in ("c", "fortran"):
    os.makedirs(os.path.join(d, "000000"), exist_ok=True)
for name, x in arrays.items():
    np.save(os.path.join("c", "000000", name + ".npy"), x)
    y = np.ascontiguousarray(x.T)
    np.save(os.path.join("fortran", "000000", name + ".npy"), y.T)
    f = np.load(os.path.join("fortran", "000000", name + ".npy"))
    assert np.isfortran(f) == (x.ndim > 1) and (f == x).all() and f.dtype == x.dtype
