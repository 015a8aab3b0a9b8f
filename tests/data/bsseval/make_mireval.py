#!/usr/bin/python3
"""Third-party expected scores for sdr: mir_eval's bss_eval_images over the
whole signal (one window).

museval's BSSEval v4 with time-invariant filters computed on the whole track
(what sdr implements) is, when the evaluation window is the whole signal,
the image-based bss_eval of BSS Eval v3 that mir_eval implements
(mir_eval.separation.bss_eval_images, 512-tap filters): same correlations,
same least-squares filters, same four energy ratios. The only algorithmic
difference is that museval solves (G + eps I) C = D while mir_eval solves
G C = D; eps = 2.2e-16 against a G whose eigenvalues are O(1e2 .. 1e4) on
these signals changes nothing above double rounding. mir_eval is
independent code (Debian's python3-mir-eval, scipy.fftpack FFTs,
scipy.linalg.toeplitz), so it checks sdr's ISR/SIR/SAR where museval's own
test vectors cannot (tests/data/bsseval/README.md).

Usage: make_mireval.py CASE_DIR [--port] > mireval-CASE.json
CASE_DIR holds reference/<stem>.wav and estimate/<stem>.wav (float32 WAV,
any rate), stems vocals, drums, bass, other, evaluated together with
compute_permutation=False. Output: {"generator", "rate", "samples",
"targets": [{"name", "SDR", "ISR", "SIR", "SAR"}]}, values rounded to 5
decimals. With --port, also runs museval_ref.py's bss_eval (the NumPy port
of museval used for the framewise golden files) with one window of the
whole signal and prints its largest difference from mir_eval on stderr.

Needs python3-mir-eval (Debian; brings scipy). Not needed by make check:
the test uses only the committed JSON."""
import json
import os
import struct
import sys

import numpy as np
import mir_eval

STEMS = ['vocals', 'drums', 'bass', 'other']


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
    if bits != 32 or code not in (3, 0xFFFE):
        raise SystemExit(path + ': expected a float32 WAV')
    return np.frombuffer(data, dtype='<f4').reshape(-1, nchan), rate


def load(case):
    ref, est, rates = [], [], set()
    for s in STEMS:
        r, rr = read_wav_f32('%s/reference/%s.wav' % (case, s))
        e, er = read_wav_f32('%s/estimate/%s.wav' % (case, s))
        ref.append(r)
        est.append(e)
        rates |= {rr, er}
    if len(rates) != 1:
        raise SystemExit(case + ': sample rates differ')
    # (nsrc, nsampl, nchan) in float64, as both mir_eval and museval compute
    return np.stack(ref).astype(np.float64), np.stack(est).astype(np.float64), rates.pop()


def main():
    args = [a for a in sys.argv[1:] if a != '--port']
    if len(args) != 1:
        raise SystemExit(__doc__)
    ref, est, rate = load(args[0])
    sdr, isr, sir, sar, perm = mir_eval.separation.bss_eval_images(ref, est, compute_permutation=False)
    assert list(perm) == list(range(len(STEMS)))
    out = {'generator': 'mir_eval %s separation.bss_eval_images(compute_permutation=False), '
                        'whole signal, float64' % mir_eval.__version__,
           'rate': rate, 'samples': int(ref.shape[1]),
           'targets': [{'name': s, 'SDR': round(float(sdr[k]), 5), 'ISR': round(float(isr[k]), 5),
                        'SIR': round(float(sir[k]), 5), 'SAR': round(float(sar[k]), 5)}
                       for k, s in enumerate(STEMS)]}
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write('\n')
    if '--port' in sys.argv[1:]:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import museval_ref
        n = ref.shape[1]
        o = museval_ref.bss_eval(ref, est, win=n, hop=n)  # (SDR, ISR, SIR, SAR, src, win)
        assert o.shape[2] == 1
        worst = 0.0
        for k, s in enumerate(STEMS):
            for m, (name, v) in enumerate((('SDR', sdr), ('ISR', isr), ('SIR', sir), ('SAR', sar))):
                d = abs(o[m, k, 0] - v[k])
                worst = max(worst, d)
                sys.stderr.write('%-6s %s mir_eval %10.5f  museval_ref %10.5f  diff %.2e\n'
                                 % (s, name, v[k], o[m, k, 0], d))
        sys.stderr.write('museval_ref.py vs mir_eval, one window: worst difference %.3e dB\n' % worst)


if __name__ == '__main__':
    main()
