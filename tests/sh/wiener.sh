#!/bin/sh
# wiener as a tool: --help and man page, usage errors, the filtered
# estimates against numpy's own implementation of Open-Unmix's
# expectation_maximization (einsum over whole arrays, numpy's matrix
# inverse), 0 iterations a byte-identical pass-through, --stems, and bad
# records (no mixture, shapes, non-finite values, 3 channels) refused with
# one line naming file, record and tensor, exit 1.
set -eu
cd "$TMPDIR"
W="$BIN/wiener"
fail() { echo "FAIL: $*"; exit 1; }

"$W" --help > help.txt || fail "--help"
grep -q "^Usage: wiener" help.txt || fail "no usage line"
for o in --iterations --wiener-iter --block --eps --stems --threads --quiet --help; do
    grep -q -- "$o" help.txt || fail "--help does not list $o"
    grep -qF -- "$(echo "$o" | sed 's/-/\\-/g')" "$TOP/man/wiener.1" || fail "wiener.1 lacks $o"
done
for bad in "--bogus" "--iterations -1" "--block x" "--eps 0" "--stems est/vocals" "--stems a,a"; do
    st=0; "$W" $bad < /dev/null > /dev/null 2> err.txt || st=$?
    [ "$st" = 2 ] || fail "'$bad': exit $st"
    grep -q "Try 'wiener --help'" err.txt || fail "'$bad': $(cat err.txt)"
done

command -v "$PYTHON" > /dev/null && "$PYTHON" -c 'import numpy' 2> /dev/null || { echo "numpy not found"; exit 77; }

# records: 0 stereo, 3 stems (one silent bin), large values (scaling); 1 mono, 2 stems
"$PYTHON" - <<'PY'
import numpy as np, os, json
rng = np.random.default_rng(3)
def rec(i, C, F, T, stems, amp):
    d = "in/%06d" % i
    os.makedirs(d + "/est", exist_ok=True)
    ys = []
    for j, s in enumerate(stems):
        y = amp * (j + 1) * (rng.standard_normal((C, F, T)) + 1j * rng.standard_normal((C, F, T)))
        if j == 0: y[:, 1, :] = 0
        ys.append(y.astype(np.complex64))
        np.save(d + "/est/%s.npy" % s, ys[-1])
    x = sum(y.astype(np.complex128) for y in ys) + 0.2 * amp * rng.standard_normal((C, F, T))
    np.save(d + "/mixture.npy", x.astype(np.complex64))
    np.save(d + "/other_tensor.npy", np.arange(5, dtype=np.float32))
    json.dump({"track": "t%d" % i}, open(d + "/attrs.json", "w"))
rec(0, 2, 7, 45, ["vocals", "drums", "other"], 30.0)
rec(1, 1, 5, 20, ["vocals", "other"], 1.0)
PY
"$BIN/npy2ts" in > in.ts
"$W" -q -i 2 -b 16 < in.ts > out.ts || fail "wiener exit $?"
"$BIN/ts2npy" out < out.ts > /dev/null
"$PYTHON" - <<'PY' || fail "wiener differs from numpy's EM"
import numpy as np, json, glob
def em(y, x, iterations, eps):
    """Open-Unmix's expectation_maximization (y: T,F,C,J; x: T,F,C), numpy."""
    T, F, C, J = y.shape
    for _ in range(iterations):
        v = np.mean(np.abs(y) ** 2, axis=2)                            # T,F,J
        R = np.einsum('tfaj,tfbj->fabj', y, y.conj())
        R = R / (eps + v.sum(axis=0))[:, None, None, :]                 # F,C,C,J
        Cxx = np.einsum('tfj,fabj->tfab', v, R) + np.sqrt(eps) * np.eye(C)
        inv = np.linalg.inv(Cxx)
        G = np.einsum('tfj,fakj,tfkb->tfabj', v, R, inv)
        y = np.einsum('tfabj,tfb->tfaj', G, x)
    return y
def wiener(y, x, iterations, eps=1e-10, scale=10.0):
    m = max(1.0, np.abs(x).max() / scale)
    return em(y / m, x / m, iterations, eps) * m
for i, stems in [(0, ["vocals", "drums", "other"]), (1, ["vocals", "other"])]:
    d = "in/%06d/" % i
    x = np.load(d + "mixture.npy").astype(np.complex128)               # C,F,T
    ys = np.stack([np.load(d + "est/%s.npy" % s) for s in stems], -1).astype(np.complex128)
    ref = np.zeros_like(ys)
    for t0 in range(0, x.shape[2], 16):
        sl = slice(t0, t0 + 16)
        yt = ys[:, :, sl, :].transpose(2, 1, 0, 3)
        xt = x[:, :, sl].transpose(2, 1, 0)
        ref[:, :, sl, :] = wiener(yt, xt, 2).transpose(2, 1, 0, 3)
    o = "out/%06d/" % i
    got = np.stack([np.load(o + "est/%s.npy" % s) for s in stems], -1)
    err = np.abs(got - ref).max() / np.abs(ref).max()
    assert err < 1e-6, (i, err)
    assert np.array_equal(np.load(o + "other_tensor.npy"), np.arange(5, dtype=np.float32))
    a = json.load(open(o + "attrs.json"))
    assert a["wiener_iter"] == "2" and a["wiener_block"] == "16" and a["track"] == "t%d" % i, a
    print("record", i, "relative error", err)
PY
# 0 iterations: the same bytes
"$W" -q -i 0 < in.ts > same.ts
cmp in.ts same.ts || fail "--iterations 0 changed the stream"
# --stems: only the named estimates change
"$W" -q --stems vocals,other < in.ts > some.ts
"$BIN/ts2npy" some < some.ts > /dev/null
"$PYTHON" -c '
import numpy as np
assert np.array_equal(np.load("some/000000/est/drums.npy"), np.load("in/000000/est/drums.npy"))
assert not np.array_equal(np.load("some/000000/est/vocals.npy"), np.load("in/000000/est/vocals.npy"))
' || fail "--stems"
st=0; "$W" -q --stems bass < in.ts > /dev/null 2> err.txt || st=$?
[ "$st" = 1 ] && grep -q "^wiener: stdin: record 0: no tensor 'est/bass'" err.txt || fail "--stems bass: $st $(cat err.txt)"

# bad records: one line naming file, record and tensor; exit 1
bad() { # name, python edit of record 1 (variables d: its folder, np)
    rm -rf b && cp -r in b
    "$PYTHON" -c "import numpy as np, os; d = 'b/000001/'; $2"
    "$BIN/npy2ts" b > b.ts
    st=0; "$W" -q b.ts > /dev/null 2> err.txt || st=$?
    [ "$st" = 1 ] || fail "$1: exit $st"
    [ "$(wc -l < err.txt)" = 1 ] || fail "$1: not one line: $(cat err.txt)"
    grep -q "^wiener: b.ts: record 1: $3" err.txt || fail "$1: $(cat err.txt)"
}
bad "no mixture" "os.remove(d + 'mixture.npy')" "no tensor 'mixture'"
bad "no estimates" "os.remove(d + 'est/vocals.npy'); os.remove(d + 'est/other.npy')" "no estimate"
bad "shape" "np.save(d + 'est/other.npy', np.zeros((1, 5, 19), np.complex64))" "tensor 'est/other': expected c64 \[1, 5, 20\]"
bad "dtype" "np.save(d + 'est/other.npy', np.zeros((1, 5, 20), np.float32))" "tensor 'est/other': expected c64"
bad "waveform mixture" "np.save(d + 'mixture.npy', np.zeros((1, 100), np.float32))" "tensor 'mixture': expected a c64 spectrogram"
bad "nan" "a = np.load(d + 'est/vocals.npy'); a[0, 2, 3] = np.nan; np.save(d + 'est/vocals.npy', a)" "tensor 'est/vocals': non-finite value at element 43"
bad "3 channels" "[np.save(d + n, np.ones((3, 5, 20), np.complex64)) for n in ('mixture.npy', 'est/vocals.npy', 'est/other.npy')]" "tensor 'mixture': 3 channels"
exit 0
