"""Read and write tfswa tensor streams with numpy only.

The format is specified in formats/tensor-stream.md (man 5 tensor-stream).

    import tfswa_stream as ts
    with open("songs.ts", "rb") as f:
        for attrs, tensors in ts.read(f):          # dict of str, dict of ndarray
            print(attrs["track"], tensors["mixture"].shape)

    with open("out.ts", "wb") as f:
        ts.write(f, [({"track": "x"}, {"mixture": np.zeros((2, 44100), np.float32)})])

Strings (attribute values) are decoded as UTF-8 with "surrogateescape", so
any byte string round-trips. Arrays come back read-only views of the record
bytes in C order with little-endian dtypes.
"""
import struct
import zlib

import numpy as np

DTYPES = {1: "<f4", 2: "<f8", 3: "<c8", 4: "<c16", 5: "<i2", 6: "<i4", 7: "<i8", 8: "|u1"}
CODES = {np.dtype(v): k for k, v in DTYPES.items()}


class StreamError(Exception):
    pass


def read(f, with_compression=False):
    """Yields (attrs, tensors) per record of the binary file f (or, with
    with_compression, (attrs, tensors, names of zlib-compressed tensors))."""
    def take(n, what):
        b = f.read(n)
        if len(b) != n:
            raise StreamError("%s: truncated inside %s" % (where[0], what))
        crc[0] = zlib.crc32(b, crc[0])
        return b

    def u(fmt, what):
        return struct.unpack("<" + fmt, take(struct.calcsize("<" + fmt), what))

    where, crc = ["stream header"], [0]
    while True:
        head = f.read(16)
        if not head:
            return
        if len(head) < 16 or head[:8] != b"TFSWA-TS" or struct.unpack("<II", head[8:]) != (1, 0):
            raise StreamError("stream header: not a version 1 tensor stream")
        count = 0
        while True:
            where[0], crc[0] = "record %d" % count, 0
            tag = take(4, "a record tag")
            if tag == b"END!":
                (n,) = u("Q", "the end marker")
                want = crc[0]
                if u("I", "the end marker")[0] != want or n != count:
                    raise StreamError("end marker after %d records: corrupted" % count)
                break
            if tag != b"RECD":
                raise StreamError("%s: bad record tag %r" % (where[0], tag))
            n_attrs, n_tensors = u("II", "the record header")
            attrs, tensors, zipped = {}, {}, set()
            for _ in range(n_attrs):
                key = take(u("H", "a key length")[0], "a key").decode("ascii")
                attrs[key] = take(u("I", "a value length")[0], "a value").decode("utf-8", "surrogateescape")
            for _ in range(n_tensors):
                name = take(u("H", "a name length")[0], "a name").decode("ascii")
                dtype, comp, rank, _reserved = u("BBBB", "a tensor header")
                shape = u("%dQ" % rank, "a shape")
                (stored,) = u("Q", "a payload size")
                data = take(stored, "a payload")
                if comp == 1:
                    data, zipped = zlib.decompress(data), zipped | {name}
                dt = np.dtype(DTYPES[dtype])
                tensors[name] = np.frombuffer(data, dt, count=int(np.prod(shape, dtype=np.int64))).reshape(shape)
            want = crc[0]
            if u("I", "the record CRC")[0] != want:
                raise StreamError("%s: CRC mismatch" % where[0])
            count += 1
            yield (attrs, tensors, zipped) if with_compression else (attrs, tensors)


def write_header(f):
    f.write(b"TFSWA-TS" + struct.pack("<II", 1, 0))


def write_record(f, attrs, tensors, compress=(), level=6):
    """Writes one record: attrs a dict of str, tensors a dict name -> array;
    tensors named in compress (or all, with compress=True) are zlib-compressed."""
    out = [b"RECD", struct.pack("<II", len(attrs), len(tensors))]
    for key, value in attrs.items():
        k, v = key.encode("ascii"), str(value).encode("utf-8", "surrogateescape")
        out += [struct.pack("<H", len(k)), k, struct.pack("<I", len(v)), v]
    for name, array in tensors.items():
        a = np.asarray(array)
        a = a.astype(a.dtype.newbyteorder("<"), order="C", copy=False)  # keeps rank 0
        if a.dtype not in CODES:
            raise ValueError("tensor %r: dtype %s is not a stream dtype" % (name, a.dtype))
        data, comp = a.tobytes(), 0
        if (compress is True or name in (compress or ())) and data:
            data, comp = zlib.compress(data, level), 1
        n = name.encode("ascii")
        out += [struct.pack("<H", len(n)), n, struct.pack("<BBBB", CODES[a.dtype], comp, a.ndim, 0)]
        out += [struct.pack("<%dQ" % a.ndim, *a.shape), struct.pack("<Q", len(data)), data]
    body = b"".join(out)
    f.write(body + struct.pack("<I", zlib.crc32(body)))


def write_end(f, count):
    end = b"END!" + struct.pack("<Q", count)
    f.write(end + struct.pack("<I", zlib.crc32(end)))


def write(f, records, compress=(), level=6):
    """Writes a whole stream: records an iterable of (attrs, tensors) or
    (attrs, tensors, compress) tuples."""
    write_header(f)
    count = 0
    for rec in records:
        write_record(f, rec[0], rec[1], rec[2] if len(rec) > 2 else compress, level)
        count += 1
    write_end(f, count)


if __name__ == "__main__":
    # python3 tfswa_stream.py FILE...: one line per record, like tsinfo --brief
    import sys
    for path in sys.argv[1:] or ["/dev/stdin"]:
        with open(path, "rb") as f:
            for i, (attrs, tensors, zipped) in enumerate(read(f, with_compression=True)):
                parts = ["%s %s%s%s" % (n, a.dtype.str, list(a.shape), " zlib" if n in zipped else "")
                         for n, a in tensors.items()]
                print("record %d: %s; %s" % (i, ", ".join(parts), " ".join("%s=%s" % kv for kv in attrs.items())))
