#!/bin/sh
# The numpy reader/writer (examples/python/tfswa_stream.py), the C tools and
# the golden vectors (formats/golden/) agree bit for bit, in both directions;
# npy2ts then ts2npy reproduces numpy arrays of every dtype bit for bit.
set -eu
"$PYTHON" -c 'import numpy' 2>/dev/null || { echo "numpy is missing for $PYTHON (make deps installs python3-numpy)"; exit 77; }
G="$TOP/formats/golden"
cd "$TMPDIR"

# C writer == golden stream, byte for byte
"$BUILD/tests/helpers/tsgen" --mixed > c.ts
cmp c.ts "$G/mixed.ts"
# C reader: golden stream -> the expected arrays
"$BIN/ts2npy" fromc "$G/mixed.ts"
# C writer from arrays (npy2ts), raw and zlib
"$BIN/npy2ts" "$G/mixed" > packed.ts
"$BIN/npy2ts" --zlib --level 9 "$G/mixed" > packedz.ts

"$PYTHON" - "$TOP" "$G" <<'PY'
import io, json, os, sys
import numpy as np
top, g = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(top, "examples", "python"))
import tfswa_stream as ts

def tree(d):
    """The arrays and attributes of a ts2npy folder, as numpy reads them."""
    recs = []
    for r in sorted(os.listdir(d), key=int):
        rd = os.path.join(d, r)
        tensors = {}
        for root, _, files in os.walk(rd):
            for f in files:
                if f.endswith(".npy"):
                    name = os.path.relpath(os.path.join(root, f), rd)[:-4]
                    tensors[name] = np.load(os.path.join(root, f))
        attrs = json.load(open(os.path.join(rd, "attrs.json"), encoding="utf-8"), strict=True)
        recs.append((attrs, tensors))
    return recs

def same(a, b, what):
    assert len(a) == len(b), "%s: %d vs %d records" % (what, len(a), len(b))
    for i, ((aa, at), (ba, bt)) in enumerate(zip(a, b)):
        assert aa == ba, "%s: record %d attributes %r vs %r" % (what, i, aa, ba)
        assert sorted(at) == sorted(bt), "%s: record %d names %s vs %s" % (what, i, sorted(at), sorted(bt))
        for n in at:
            x, y = at[n], bt[n]
            assert x.dtype == y.dtype and x.shape == y.shape, "%s: %d/%s: %s%s vs %s%s" % (what, i, n, x.dtype, x.shape, y.dtype, y.shape)
            assert x.tobytes() == y.tobytes(), "%s: record %d tensor %s differs" % (what, i, n)

expected = tree(os.path.join(g, "mixed"))
raw = open(os.path.join(g, "mixed.ts"), "rb").read()
# python reader: golden stream == expected arrays
recs = list(ts.read(io.BytesIO(raw), with_compression=True))
same([(a, t) for a, t, _ in recs], expected, "python reader of the golden stream")
assert sum(len(z) for _, _, z in recs) > 0, "the golden stream holds zlib tensors"
dtypes = {str(x.dtype) for _, t in expected for x in t.values()}
assert len(dtypes) == 8, dtypes
# python writer == golden stream, byte for byte
out = io.BytesIO()
ts.write(out, recs)
assert out.getvalue() == raw, "python writer differs from the golden stream"
# C reader (ts2npy) == expected; C writer (npy2ts) read by python == expected
same(tree("fromc"), expected, "ts2npy of the golden stream")
for f in ("packed.ts", "packedz.ts"):
    same(list(ts.read(open(f, "rb"))), expected, "python reader of npy2ts output " + f)

# numpy-saved arrays of every dtype, odd shapes and special values, format
# versions 1.0, 2.0 and 3.0, big-endian and non-contiguous sources
rng = np.random.default_rng(7)
special = np.array([np.nan, -0.0, np.inf, -np.inf, 1e-45, 3.4e38, -1.0])
os.makedirs("np/000000/sub/deep")
os.makedirs("np/000003")
arrays = {}
shapes = [(), (0,), (1,), (3, 0, 2), (2, 3, 5), (7, 1, 1, 2), (1,) * 8, (33,)]
for k, dt in enumerate(["<f4", "<f8", "<c8", "<c16", "<i2", "<i4", "<i8", "|u1"]):
    for s, shape in enumerate(shapes):
        n = int(np.prod(shape))
        if dt[1] in "fc":
            a = rng.standard_normal(n) * 10.0 ** rng.integers(-30, 30, n)
            if dt[1] == "c":
                a = a + 1j * rng.standard_normal(n)
            a[: min(n, len(special))] = special[: min(n, len(special))]
            a = a.astype(dt)
        else:
            info = np.iinfo(np.dtype(dt))
            a = rng.integers(info.min, info.max, n, endpoint=True, dtype=np.dtype(dt))
        a = a.reshape(shape)
        name = ("sub/deep/" if s == 3 else "sub/" if s == 2 else "") + "%s_%d" % (dt[1:], s)
        arrays[name] = a
        path = "np/000000/%s.npy" % name
        if s == 4:  # format versions 2.0 and 3.0
            with open(path, "wb") as f:
                np.lib.format.write_array(f, a, version=(2, 0) if k % 2 else (3, 0))
        elif s == 5 and a.dtype.itemsize > 1:  # big-endian input is converted by numpy before saving
            np.save(path, a.astype(a.dtype.newbyteorder(">")).astype(a.dtype))
        elif s == 6:  # a non-contiguous view is saved in C order
            np.save(path, np.broadcast_to(a, a.shape)[...])
        else:
            np.save(path, a)
attrs = {"track": "Ünïcödé \"q\" \\ \t\n", "rate": "44100", "empty": ""}
json.dump(attrs, open("np/000000/attrs.json", "w", encoding="utf-8"))
open("np/000003/attrs.json", "w").write('{"n": 3, "ok": true}')
np.save("np/000003/x.npy", np.arange(5, dtype=np.int16))
json.dump({"arrays": sorted(arrays)}, open("names.json", "w"))
np.savez("arrays.npz", **{k.replace("/", "|"): v for k, v in arrays.items()})
PY

"$BIN/npy2ts" np > np.ts
"$BIN/tsinfo" np.ts > np.txt
grep -q '^record 1: 2 attributes, 1 tensor' np.txt
"$BIN/ts2npy" back np.ts
test -d back/000001 && ! test -d back/000003

"$PYTHON" - "$TOP" <<'PY'
import io, json, os, sys
import numpy as np
sys.path.insert(0, os.path.join(sys.argv[1], "examples", "python"))
import tfswa_stream as ts
arrays = {k.replace("|", "/"): v for k, v in np.load("arrays.npz").items()}
for name, a in arrays.items():
    b = np.load("back/000000/%s.npy" % name)
    assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), name
back = json.load(open("back/000000/attrs.json", encoding="utf-8"))
assert back == {"track": "Ünïcödé \"q\" \\ \t\n", "rate": "44100", "empty": ""}, back
assert json.load(open("back/000001/attrs.json")) == {"n": "3", "ok": "true"}
recs = list(ts.read(open("np.ts", "rb")))
assert len(recs) == 2 and len(recs[0][1]) == len(arrays)
for name, a in arrays.items():
    assert recs[0][1][name].tobytes() == a.tobytes() and recs[0][1][name].shape == a.shape, name
# python writer -> C reader, with zlib and odd inputs (big-endian, non-contiguous)
big = np.arange(12, dtype=">f8").reshape(3, 4)
with open("py.ts", "wb") as f:
    ts.write(f, [({"a": "1"}, {"big": big, "t": big.T, "z": np.zeros((0, 3), np.complex64)}, True),
                 ({}, {"s": np.float32(1.5), "u": np.array([255, 0], np.uint8)})])
PY
"$BIN/tsinfo" py.ts > py.txt
"$BIN/ts2npy" py py.ts
"$PYTHON" -c '
import numpy as np
b = np.load("py/000000/big.npy"); t = np.load("py/000000/t.npy")
assert b.dtype == np.dtype("<f8") and (b == np.arange(12).reshape(3, 4)).all()
assert (t == np.arange(12).reshape(3, 4).T).all() and t.flags.c_contiguous
assert np.load("py/000001/s.npy").shape == () and np.load("py/000001/s.npy") == 1.5
assert np.load("py/000000/z.npy").shape == (0, 3)
'

# bad .npy files: exit 1 and a message naming the file
bad() { # name python-expression-writing-the-file expected-message
    rm -rf bad && mkdir -p bad/000000
    "$PYTHON" -c "import numpy as np; f = 'bad/000000/x.npy'; $2"
    if "$BIN/npy2ts" bad > /dev/null 2> err.txt; then echo "FAIL: npy2ts accepted $1"; exit 1; fi
    st=0; "$BIN/npy2ts" bad > /dev/null 2>/dev/null || st=$?
    [ "$st" = 1 ] || { echo "FAIL: $1: exit $st"; exit 1; }
    grep -q "^npy2ts: bad/000000/x.npy: .*$3" err.txt || { echo "FAIL: $1:"; cat err.txt; exit 1; }
}
bad bigendian "open(f, 'wb').write(open('/dev/null','rb').read()); np.lib.format.write_array(open(f, 'wb'), np.ones(3, '>f4'))" "big-endian"
bad object "np.save(f, np.array([{}, 1], dtype=object), allow_pickle=True)" "object arrays"
bad bool "np.save(f, np.ones(3, bool))" "boolean"
bad float16 "np.save(f, np.ones(3, np.float16))" "not supported"
bad short "np.save(f, np.ones(30, np.float32)); d = open(f, 'rb').read(); open(f, 'wb').write(d[:-1])" "holds 119 data bytes but its header describes 120"
bad long "np.save(f, np.ones(3, np.float32)); open(f, 'ab').write(b'x')" "holds 13 data bytes"
bad magic "open(f, 'wb').write(b'PK\x03\x04 not npy')" "not a .npy file"
bad header "open(f, 'wb').write(b'\x93NUMPY\x01\x00\x10\x00{\"descr\": 1}    ')" "bad header"
rm -rf bad && mkdir -p bad/000000 && echo '{"a": [1]}' > bad/000000/attrs.json
st=0; "$BIN/npy2ts" bad > /dev/null 2> err.txt || st=$?
[ "$st" = 1 ] && grep -q '^npy2ts: bad/000000/attrs.json: line 1, column 7: values must be strings' err.txt
rm -rf bad && mkdir -p bad/000000 bad/x
st=0; "$BIN/npy2ts" bad > /dev/null 2> err.txt || st=$?
[ "$st" = 1 ] && grep -q "^npy2ts: bad/x: not a record folder" err.txt
echo ok
