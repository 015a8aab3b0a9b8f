#!/usr/bin/python3
"""Golden vectors for lib/dsp/stft.c from PyTorch 1.13:
torch.stft(x, n_fft, hop, window=torch.hann_window(n_fft, periodic=True), center=True,
pad_mode="reflect", normalized=False, onesided=True, return_complex=True) and torch.istft
with the same settings and length=L, of random (not necessarily consistent) spectrograms.
Run: /usr/bin/python3 make_golden.py > golden.txt
Format: one case per line group:
  stft  n_fft hop L         then a line of L samples, then a line of bins*frames complex
                            values "re im" in (bins, frames) order
  istft n_fft hop L frames  then a line of bins*frames complex input values, then a line of
                            L output samples
  stftgrad  n_fft hop L     then x (L samples), G (bins*frames complex cotangent), and the
                            gradient of sum(Re X Re G + Im X Im G) with respect to x (L samples),
                            by torch.autograd: the adjoint of the STFT applied to G
  istftgrad n_fft hop L frames  then Y (bins*frames complex), g (L samples), and the gradient
                            of sum(istft(Y) g) with respect to (Re Y, Im Y), as complex values
Values are float32 printed exactly (%.9g)."""
import numpy as np
import torch

rng = np.random.default_rng(2024)

def fmt(a):
    return " ".join("%.9g" % v for v in np.asarray(a, dtype=np.float32).ravel())

def cfmt(z):
    z = np.asarray(z, dtype=np.complex64).ravel()
    return fmt(np.stack([z.real, z.imag], axis=1))

for n_fft, hop, L in [(16, 4, 50), (16, 8, 37), (16, 4, 9), (64, 16, 300), (64, 32, 129),
                      (1024, 256, 1100)]:
    x = (rng.standard_normal(L) * 0.3).astype(np.float32)
    w = torch.hann_window(n_fft, periodic=True)
    X = torch.stft(torch.tensor(x), n_fft, hop, window=w, center=True, pad_mode="reflect",
                   normalized=False, onesided=True, return_complex=True)
    print("stft", n_fft, hop, L)
    print(fmt(x))
    print(cfmt(X.numpy()))

for n_fft, hop, L in [(16, 4, 50), (16, 8, 37), (64, 16, 300), (64, 32, 129)]:
    frames = 1 + L // hop
    F = n_fft // 2 + 1
    Y = (rng.standard_normal((F, frames)) + 1j * rng.standard_normal((F, frames))).astype(np.complex64)
    w = torch.hann_window(n_fft, periodic=True)
    y = torch.istft(torch.tensor(Y), n_fft, hop, window=w, center=True, normalized=False,
                    onesided=True, length=L)
    print("istft", n_fft, hop, L, frames)
    print(cfmt(Y))
    print(fmt(y.numpy()))

for n_fft, hop, L in [(16, 4, 50), (64, 16, 300), (64, 32, 129)]:
    w = torch.hann_window(n_fft, periodic=True)
    x = torch.tensor((rng.standard_normal(L) * 0.3).astype(np.float32), requires_grad=True)
    X = torch.stft(x, n_fft, hop, window=w, center=True, pad_mode="reflect", normalized=False,
                   onesided=True, return_complex=True)
    G = (rng.standard_normal(X.shape) + 1j * rng.standard_normal(X.shape)).astype(np.complex64)
    Gt = torch.tensor(G)
    (X.real * Gt.real + X.imag * Gt.imag).sum().backward()
    print("stftgrad", n_fft, hop, L)
    print(fmt(x.detach().numpy()))
    print(cfmt(G))
    print(fmt(x.grad.numpy()))

for n_fft, hop, L in [(16, 4, 50), (64, 16, 300), (64, 32, 129)]:
    frames = 1 + L // hop
    F = n_fft // 2 + 1
    w = torch.hann_window(n_fft, periodic=True)
    Yri = torch.tensor(rng.standard_normal((F, frames, 2)).astype(np.float32), requires_grad=True)
    y = torch.istft(torch.view_as_complex(Yri), n_fft, hop, window=w, center=True, normalized=False,
                    onesided=True, length=L)
    g = torch.tensor(rng.standard_normal(L).astype(np.float32))
    (y * g).sum().backward()
    print("istftgrad", n_fft, hop, L, frames)
    print(fmt(Yri.detach().numpy()))
    print(fmt(g.numpy()))
    print(fmt(Yri.grad.numpy()))
