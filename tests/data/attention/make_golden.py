#!/usr/bin/python3
"""Golden vectors for the TFSWA transformer layer (tests/unit/test_tlayer_golden.c).

The four layer kinds written from the specification in PyTorch (nn.Linear,
nn.LayerNorm, F.gelu, softmax attention; for the window kinds Swin's
relative position bias table and index, torch.roll cyclic shift, region
mask by slices on the padded grid, and our padding-key mask), computed in
float64 from float32-rounded inputs and parameters. Writes one file per
case, little-endian:
  int32[8]  kind C heads hidden window B F T
  float32   x (B,F,T,C) | params (tlayer_bind order) | dy | y | dx | dparams
Run:  /usr/bin/python3 tests/data/attention/make_golden.py   (from the source root)
"""
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as Fn

TIME, FREQ, WINDOW, SHIFTED = 0, 1, 2, 3


class TLayer(nn.Module):
    def __init__(self, kind, C, heads, hidden, window):
        super().__init__()
        self.kind, self.C, self.heads, self.w = kind, C, heads, window
        self.norm1 = nn.LayerNorm(C, eps=1e-5)
        self.qkv = nn.Linear(C, 3 * C)
        self.proj = nn.Linear(C, C)
        self.rel = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads)) if kind >= WINDOW else None
        self.norm2 = nn.LayerNorm(C, eps=1e-5)
        self.fc1 = nn.Linear(C, hidden)
        self.fc2 = nn.Linear(hidden, C)
        if kind >= WINDOW:  # Swin's relative_position_index
            w = window
            coords = torch.stack(torch.meshgrid(torch.arange(w), torch.arange(w), indexing="ij")).flatten(1)
            rel = coords[:, :, None] - coords[:, None, :]
            rel = rel.permute(1, 2, 0).contiguous()
            rel[:, :, 0] += w - 1
            rel[:, :, 1] += w - 1
            rel[:, :, 0] *= 2 * w - 1
            self.register_buffer("rel_index", rel.sum(-1))

    def params(self):
        p = [self.norm1.weight, self.norm1.bias, self.qkv.weight, self.qkv.bias, self.proj.weight, self.proj.bias]
        if self.rel is not None:
            p.append(self.rel)
        p += [self.norm2.weight, self.norm2.bias, self.fc1.weight, self.fc1.bias, self.fc2.weight, self.fc2.bias]
        return p

    def mhsa(self, seq, allowed=None, bias=None):
        """seq (n, L, C) -> (n, L, C); allowed (n, L, L) bool; bias (H, L, L)."""
        n, L, C = seq.shape
        H = self.heads
        D = C // H
        qkv = self.qkv(seq).reshape(n, L, 3, H, D).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        s = (q * D ** -0.5) @ k.transpose(-2, -1)
        if bias is not None:
            s = s + bias.unsqueeze(0)
        if allowed is not None:
            # -1e9, not -inf: rows with no allowed key (padded queries) stay finite; they are discarded
            s = s.masked_fill(~allowed.unsqueeze(1), -1e9)
        a = torch.softmax(s, dim=-1)
        return (a @ v).transpose(1, 2).reshape(n, L, C)

    def attention(self, xn):
        B, F, T, C = xn.shape
        if self.kind == TIME:
            return self.mhsa(xn.reshape(B * F, T, C)).reshape(B, F, T, C)
        if self.kind == FREQ:
            o = self.mhsa(xn.permute(0, 2, 1, 3).reshape(B * T, F, C))
            return o.reshape(B, T, F, C).permute(0, 2, 1, 3)
        w = self.w
        s = w // 2 if self.kind == SHIFTED else 0
        Fp, Tp = -(-F // w) * w, -(-T // w) * w
        x = Fn.pad(xn, (0, 0, 0, Tp - T, 0, Fp - F))
        valid = torch.zeros(Fp, Tp, dtype=torch.bool)
        valid[:F, :T] = True
        region = torch.zeros(Fp, Tp, dtype=torch.long)
        if s:
            x = torch.roll(x, shifts=(-s, -s), dims=(1, 2))
            valid = torch.roll(valid, shifts=(-s, -s), dims=(0, 1))
            cnt = 0
            for fs in (slice(0, -w), slice(-w, -s), slice(-s, None)):
                for ts in (slice(0, -w), slice(-w, -s), slice(-s, None)):
                    region[fs, ts] = cnt
                    cnt += 1

        def part(t):  # (..., Fp, Tp, c) -> windows (..., nW, w*w, c)
            lead = t.shape[:-3]
            c = t.shape[-1]
            t = t.reshape(*lead, Fp // w, w, Tp // w, w, c).transpose(-4, -3)
            return t.reshape(*lead, (Fp // w) * (Tp // w), w * w, c)

        xw = part(x).reshape(-1, w * w, C)
        vw = part(valid.unsqueeze(-1)).squeeze(-1)  # (nW, L)
        rw = part(region.unsqueeze(-1)).squeeze(-1)
        allowed = vw.unsqueeze(1) & (rw.unsqueeze(2) == rw.unsqueeze(1))  # key valid, same region
        allowed = allowed.repeat(B, 1, 1)
        bias = self.rel[self.rel_index.reshape(-1)].reshape(w * w, w * w, -1).permute(2, 0, 1)
        o = self.mhsa(xw, allowed, bias)
        o = o.reshape(B, Fp // w, Tp // w, w, w, C).transpose(2, 3).reshape(B, Fp, Tp, C)
        if s:
            o = torch.roll(o, shifts=(s, s), dims=(1, 2))
        return o[:, :F, :T, :]

    def forward(self, x):
        y = x + self.proj(self.attention(self.norm1(x)))
        return y + self.fc2(Fn.gelu(self.fc1(self.norm2(y))))


def case(path, kind, C, heads, window, B, F, T, seed):
    torch.manual_seed(seed)
    hidden = 4 * C
    m = TLayer(kind, C, heads, hidden, window).double()
    with torch.no_grad():
        for p in m.params():
            p.copy_(torch.randn_like(p) * (0.3 if p.dim() == 1 else p.shape[-1] ** -0.5 if p is not m.rel else 1.0))
        m.norm1.weight.add_(1.0)
        m.norm2.weight.add_(1.0)
        for p in m.params():  # the C code sees float32 values
            p.copy_(p.float().double())
    x = torch.randn(B, F, T, C).float().double().requires_grad_(True)
    dy = torch.randn(B, F, T, C).float().double()
    y = m(x)
    y.backward(dy)
    flat = lambda ts: torch.cat([t.reshape(-1) for t in ts]).float()
    with open(path, "wb") as f:
        f.write(struct.pack("<8i", kind, C, heads, hidden, window, B, F, T))
        for t in (x.detach(), flat(m.params()), dy, y.detach(), x.grad, flat([p.grad for p in m.params()])):
            f.write(t.detach().float().contiguous().numpy().astype("<f4").tobytes())


def main():
    out = os.path.dirname(os.path.abspath(__file__))
    names = ["time", "freq", "window", "shifted"]
    for kind in range(4):
        case(os.path.join(out, "golden_%s.bin" % names[kind]), kind, 8, 2, 4, 2, 9, 10, 100 + kind)
        # seed-like head dimension 4 (C 32, 8 heads), window 8, odd sizes
        case(os.path.join(out, "golden_%s_d4.bin" % names[kind]), kind, 32, 8, 8, 1, 11, 13, 200 + kind)


if __name__ == "__main__":
    main()
