#!/usr/bin/python3
"""Independent NumPy re-implementation of museval's BSSEval v4 as museval
scores MUSDB tracks (metrics.bss_eval with compute_permutation=False,
framewise_filters=False, bsseval_sources_version=False, 1 s windows and
hop), used to produce the golden scores in this directory and to check
tfswa's C implementation (lib/metrics/bsseval.c) on new signals.

It follows museval's algorithm step by step, in float64: correlations of
the zero-padded whole signals through one FFT each, G + eps*I solved with
numpy.linalg.solve, projections through FFT convolution of each window's
references (zero outside the window, filter tail kept), NaN windows when
any reference or estimate is silent in them. It differs from museval only in
the FFT library (numpy.fft instead of scipy.fftpack), which changes nothing
above double rounding where G is well conditioned (see man/sdr.1).

Usage: museval_ref.py [--museval] CASE_DIR [STEM,STEM,...] > scores.json
With --museval the scores are museval's own (museval.metrics.bss_eval, loaded
from the installed museval package without its __init__, which needs musdb
and ffmpeg), and the largest difference between this port and museval goes
to stderr.
CASE_DIR holds reference/<stem>.wav and estimate/<stem>.wav (float32 WAV).
Output: {"targets": [{"name", "frames": [{"time", "duration", "metrics"}]}]}
with values rounded to 5 decimals and null for NaN or inf."""
import itertools
import json
import struct
import sys

import numpy as np

L = 512
RATE = 44100


def read_wav_f32(path):
    b = open(path, 'rb').read()
    i, fmt, data = 12, None, None
    while i + 8 <= len(b):
        cid = b[i:i + 4]
        sz = struct.unpack('<I', b[i + 4:i + 8])[0]
        if cid == b'fmt ':
            fmt = struct.unpack('<HHIIHH', b[i + 8:i + 24])
        elif cid == b'data':
            data = b[i + 8:i + 8 + sz]
        i += 8 + sz + (sz & 1)
    code, nchan, rate, _, _, bits = fmt
    if bits != 32 or code not in (3, 0xFFFE) or rate != RATE:
        raise SystemExit(path + ': expected float32 WAV at 44.1 kHz')
    return np.frombuffer(data, dtype='<f4').reshape(-1, nchan)


def pad_end(x, n):
    """x (nsampl, ...) -> (nsampl + n, ...) float64, zeros at the end"""
    out = np.zeros((x.shape[0] + n,) + x.shape[1:])
    out[:x.shape[0]] = x
    return out


def nfft_for(nsampl):
    return int(2 ** np.ceil(np.log2(nsampl + L - 1.0)))


def lagged(c):
    """c[0], c[-1], ..., c[-(L-1)]: correlation at lags 0, -1, ..."""
    return np.concatenate(([c[0]], c[-1:-L:-1]))


def toeplitz(col, row):
    vals = np.concatenate((col[::-1], row[1:]))
    idx = np.arange(L)[None, :] - np.arange(L)[:, None] + L - 1
    return vals[idx]


def correlations(ref):
    """ref (nsrc, nsampl, nchan) -> G (nsrc*nchan*L square), spectra"""
    nsrc, nsampl, nchan = ref.shape
    spec = np.fft.fft(pad_end(np.moveaxis(ref, 1, 0), L - 1), n=nfft_for(nsampl), axis=0)
    spec = np.moveaxis(spec, 0, 2)  # (nsrc, nchan, nfft)
    sig = list(itertools.product(range(nsrc), range(nchan)))
    G = np.zeros((len(sig) * L, len(sig) * L))
    for a, b in itertools.combinations_with_replacement(range(len(sig)), 2):
        (i, c1), (j, c2) = sig[a], sig[b]
        r = np.real(np.fft.ifft(spec[j, c2] * np.conj(spec[i, c1])))
        block = toeplitz(lagged(r), r[:L]).T  # rows: lag of a, cols: lag of b
        G[a * L:(a + 1) * L, b * L:(b + 1) * L] = block
        G[b * L:(b + 1) * L, a * L:(a + 1) * L] = block.T
    return G, spec


def filters(G, spec, est):
    """least-squares filters from every signal in spec to each channel of est"""
    nsampl, nchan = est.shape
    nsig = spec.shape[0] * spec.shape[1]
    es = np.fft.fft(pad_end(est, L - 1), n=nfft_for(nsampl), axis=0).T
    D = np.zeros((nsig * L, nchan))
    for a, (j, cj) in enumerate(itertools.product(range(spec.shape[0]), range(spec.shape[1]))):
        for c in range(nchan):
            D[a * L:(a + 1) * L, c] = lagged(np.real(np.fft.ifft(spec[j, cj] * np.conj(es[c]))))
    eps = np.finfo(float).eps
    try:
        C = np.linalg.solve(G + eps * np.eye(G.shape[0]), D)
    except np.linalg.LinAlgError:
        C = np.linalg.lstsq(G, D, rcond=None)[0]
    return C.reshape(nsig, L, nchan)


def convolve(h, x):
    n = len(h) + len(x) - 1
    m = 1 << int(np.ceil(np.log2(n)))
    return np.fft.irfft(np.fft.rfft(h, m) * np.fft.rfft(x, m), m)[:n]


def project(refs, C):
    """refs: list of (nsampl, nchan) windows; C (len(refs)*nchan, L, nchan)"""
    nsampl, nchan = refs[0].shape
    out = np.zeros((nsampl + L - 1, nchan))
    for a, (j, cj) in enumerate(itertools.product(range(len(refs)), range(nchan))):
        for c in range(nchan):
            out[:, c] += convolve(C[a, :, c], refs[j][:, cj])
    return out


def silent(x):
    return np.any(np.all(np.sum(x, axis=2) == 0, axis=1))


def db(num, den):
    return np.inf if den == 0 else 10 * np.log10(num / den)


def bss_eval(ref, est, win=RATE, hop=RATE):
    nsrc, nsampl, nchan = est.shape
    nwin = int(np.floor((nsampl - win + hop) / hop)) if win < nsampl else 1
    G, spec = correlations(ref)
    C = [filters(G, spec, est[j]) for j in range(nsrc)]
    nl = nchan * L
    Cj = [filters(G[j * nl:(j + 1) * nl, j * nl:(j + 1) * nl], spec[j:j + 1], est[j]) for j in range(nsrc)]
    out = np.full((4, nsrc, nwin), np.nan)  # SDR, ISR, SIR, SAR
    for t in range(nwin):
        w = slice(t * hop, min(t * hop + win, nsampl))
        r, e = ref[:, w], est[:, w]
        if silent(r) or silent(e):
            continue
        for j in range(nsrc):
            s = pad_end(r[j], L - 1)
            e_spat = project([r[j]], Cj[j]) - s
            e_int = project(list(r), C[j]) - s - e_spat
            e_art = -s - e_spat - e_int
            e_art[:e.shape[1]] += e[j]
            es = np.sum(s ** 2)
            out[:, j, t] = (db(es, np.sum((e_spat + e_int + e_art) ** 2)), db(es, np.sum(e_spat ** 2)),
                            db(np.sum((s + e_spat) ** 2), np.sum(e_int ** 2)),
                            db(np.sum((s + e_spat + e_int) ** 2), np.sum(e_art ** 2)))
    return out


def museval_bss_eval(ref, est):
    """museval's own bss_eval as eval_mus_track calls it, as (SDR, ISR, SIR, SAR)"""
    import importlib.util
    pkg = importlib.util.find_spec('museval').submodule_search_locations[0]
    spec = importlib.util.spec_from_file_location('museval_metrics', pkg + '/metrics.py')
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    sdr, isr, sir, sar, _ = m.bss_eval(ref.astype(np.float64), est.astype(np.float64),
                                       window=RATE, hop=RATE, compute_permutation=False,
                                       framewise_filters=False, bsseval_sources_version=False)
    return np.stack([sdr, isr, sir, sar])


def main():
    args = sys.argv[1:]
    use_museval = args[:1] == ['--museval']
    if use_museval:
        args = args[1:]
    case = args[0]
    stems = args[1].split(',') if len(args) > 1 else ['vocals', 'drums', 'bass', 'other']
    ref = np.stack([read_wav_f32('%s/reference/%s.wav' % (case, s)) for s in stems])
    est = np.stack([read_wav_f32('%s/estimate/%s.wav' % (case, s)) for s in stems])
    o = bss_eval(ref, est)
    if use_museval:
        m = museval_bss_eval(ref, est)
        both = np.isfinite(o) & np.isfinite(m)
        if not np.array_equal(np.isfinite(o), np.isfinite(m)):
            sys.stderr.write('port and museval differ in which values are NaN\n')
        sys.stderr.write('port vs museval: largest difference %.2e dB\n' % np.max(np.abs(o - m)[both]))
        o = m
    q = lambda v: None if not np.isfinite(v) else round(float(v), 5)
    targets = [{'name': s, 'frames': [
        {'time': float(t), 'duration': 1.0,
         'metrics': {'SDR': q(o[0, k, t]), 'SIR': q(o[2, k, t]), 'SAR': q(o[3, k, t]), 'ISR': q(o[1, k, t])}}
        for t in range(o.shape[2])]} for k, s in enumerate(stems)]
    json.dump({'targets': targets}, sys.stdout, indent=1)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
