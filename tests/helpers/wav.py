"""A small RIFF WAV reader for the shell tests' Python checks (numpy only)."""
import numpy as np


def wav(path):
    """(channels, frames) float64 of a PCM16/24 or float32 WAV (a small RIFF reader)."""
    b = open(path, "rb").read()
    assert b[:4] == b"RIFF" and b[8:12] == b"WAVE", path
    i, fmt = 12, None
    while i + 8 <= len(b):
        cid, n = b[i:i + 4], int.from_bytes(b[i + 4:i + 8], "little")
        if cid == b"fmt ":
            tag, ch = int.from_bytes(b[i + 8:i + 10], "little"), int.from_bytes(b[i + 10:i + 12], "little")
            bits = int.from_bytes(b[i + 22:i + 24], "little")
            if tag == 0xFFFE:
                tag = int.from_bytes(b[i + 32:i + 34], "little")
            fmt = (tag, ch, bits)
        elif cid == b"data":
            tag, ch, bits = fmt
            raw = b[i + 8:i + 8 + n]
            if (tag, bits) == (1, 24):
                u = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
                x = ((u[:, 0] | (u[:, 1] << 8) | (u[:, 2] << 16)) << 8 >> 8) / 8388608.0
            else:
                x = np.frombuffer(raw, {(1, 16): "<i2", (3, 32): "<f4"}[(tag, bits)]).astype(np.float64)
                if tag == 1:
                    x /= 32768.0
            return x.reshape(-1, ch).T
        i += 8 + n + (n & 1)
    raise AssertionError(path + ": no data chunk")
