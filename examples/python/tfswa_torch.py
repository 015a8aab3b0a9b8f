#!/usr/bin/python3
"""The TFSWA-UNet and the band model in PyTorch, written from formats/checkpoint.md alone.

Loads a tfswa checkpoint (a tensor stream read with tfswa_stream.py) into a
torch.nn.Module whose state_dict names are the checkpoint's tensor names, and
separates the `mixture` of each record of a stream like `tfswa-net -m`
(without chunking: each record in one piece):

    /usr/bin/python3 tfswa_torch.py -m model.ckpt in.ts out.ts [--double] [--threads N]

The golden test of the C forward pass (tests/data/model) runs this in double
precision; bench/tfswa-net.sh can time it as the PyTorch peer.
"""
import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tfswa_stream  # noqa: E402

MIN_FRAMES = 8
KINDS = ("tsa", "fsa", "wmsa", "swmsa")


class ConvBN(nn.Module):
    """conv (with bias) -> BatchNorm2d (eval: running statistics, eps 1e-5) -> exact GELU."""

    def __init__(self, cin, cout, k, stride, pad, transposed=False):
        super().__init__()
        cls = nn.ConvTranspose2d if transposed else nn.Conv2d
        self.conv = cls(cin, cout, k, stride, pad)
        self.bn = nn.BatchNorm2d(cout, eps=1e-5)

    def forward(self, x):
        return F.gelu(self.bn(self.conv(x)))


class Attention(nn.Module):
    def __init__(self, C, heads, window=None):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(C, 3 * C)
        self.proj = nn.Linear(C, C)
        if window is not None:
            self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))

    def forward(self, x, bias=None, allowed=None):
        """x (N, L, C); bias (heads, L, L) or None; allowed (N, L, L) bool or None."""
        N, L, C = x.shape
        H = self.heads
        D = C // H
        qkv = self.qkv(x).reshape(N, L, 3, H, D).permute(2, 0, 3, 1, 4)  # 3, N, H, L, D
        q, k, v = qkv[0], qkv[1], qkv[2]
        s = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D))
        if bias is not None:
            s = s + bias[None]
        if allowed is not None:
            s = s.masked_fill(~allowed[:, None], float("-inf"))
        a = torch.softmax(s, dim=-1)
        a = torch.nan_to_num(a, nan=0.0)  # a query that may attend nothing (padding) gets 0
        o = (a @ v).transpose(1, 2).reshape(N, L, C)
        return self.proj(o)


class Mlp(nn.Module):
    def __init__(self, C, hidden, out=None):
        super().__init__()
        self.fc1 = nn.Linear(C, hidden)
        self.fc2 = nn.Linear(hidden, C if out is None else out)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


def rel_index(w):
    a = torch.arange(w)
    coords = torch.stack(torch.meshgrid(a, a, indexing="ij")).flatten(1)  # 2, w*w: (f, t) of token i = f w + t
    rel = coords[:, :, None] - coords[:, None, :] + (w - 1)  # 2, L, L: coordinate of query i minus key j
    return rel[0] * (2 * w - 1) + rel[1]


def region(P, w, s):
    r = torch.zeros(P, dtype=torch.long)
    r[P - w:P - s] = 1
    r[P - s:] = 2
    return r


class TLayer(nn.Module):
    """Pre-norm transformer layer: y = x + attn(norm1 x); y = y + mlp(norm2 y). x (B, F, T, C)."""

    def __init__(self, kind, C, heads, hidden, window):
        super().__init__()
        self.kind, self.w = kind, window
        self.norm1 = nn.LayerNorm(C, eps=1e-5)
        self.attn = Attention(C, heads, window if kind in ("wmsa", "swmsa") else None)
        self.norm2 = nn.LayerNorm(C, eps=1e-5)
        self.mlp = Mlp(C, hidden)

    def attend(self, h):
        B, Fb, T, C = h.shape
        if self.kind == "tsa":  # along time within each bin
            return self.attn(h.reshape(B * Fb, T, C)).reshape(B, Fb, T, C)
        if self.kind == "fsa":  # along frequency within each frame
            o = self.attn(h.permute(0, 2, 1, 3).reshape(B * T, Fb, C))
            return o.reshape(B, T, Fb, C).permute(0, 2, 1, 3)
        w = self.w
        s = w // 2 if self.kind == "swmsa" else 0
        Fp, Tp = -(-Fb // w) * w, -(-T // w) * w
        x = F.pad(h, (0, 0, 0, Tp - T, 0, Fp - Fb))  # zero tokens at the bottom / right
        valid = torch.zeros(Fp, Tp, dtype=torch.bool)
        valid[:Fb, :T] = True
        group = torch.zeros(Fp, Tp, dtype=torch.long)
        if s:
            x = torch.roll(x, shifts=(-s, -s), dims=(1, 2))
            valid = torch.roll(valid, shifts=(-s, -s), dims=(0, 1))
            group = 3 * region(Fp, w, s)[:, None] + region(Tp, w, s)[None, :]
        nf, nt = Fp // w, Tp // w

        def part(t, c):  # (.., Fp, Tp, c) -> (nW, w*w, c)
            return t.reshape(-1, nf, w, nt, w, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, w * w, c)

        xw = part(x, C)
        vw = part(valid[None, :, :, None], 1)[..., 0]  # nW, L
        gw = part(group[None, :, :, None], 1)[..., 0]
        allowed = (gw[:, :, None] == gw[:, None, :]) & vw[:, None, :]
        allowed = allowed.repeat(B, 1, 1)
        table = self.attn.relative_position_bias_table
        bias = table[rel_index(w).reshape(-1)].reshape(w * w, w * w, -1).permute(2, 0, 1)
        o = self.attn(xw, bias, allowed)
        o = o.reshape(B, nf, nt, w, w, C).permute(0, 1, 3, 2, 4, 5).reshape(B, Fp, Tp, C)
        if s:
            o = torch.roll(o, shifts=(s, s), dims=(1, 2))
        return o[:, :Fb, :T]

    def forward(self, x):
        x = x + self.attend(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class Block(nn.Module):
    def __init__(self, C, heads, hidden, window):
        super().__init__()
        for k in KINDS:
            setattr(self, k, TLayer(k, C, heads, hidden, window))

    def forward(self, x):
        for k in KINDS:
            x = getattr(self, k)(x)
        return x


class Stage(nn.Module):
    def __init__(self, depth, C, heads, hidden, window, down=None, up=None):
        super().__init__()
        if up is not None:
            self.up = ConvBN(up, C, 4, 2, 1, transposed=True)
        self.blocks = nn.ModuleList([Block(C, heads, hidden, window) for _ in range(depth)])
        if down is not None:
            self.down = ConvBN(C, down, 4, 2, 1)

    def run_blocks(self, x):  # x (B, C, F, T)
        x = x.permute(0, 2, 3, 1)
        for b in self.blocks:
            x = b(x)
        return x.permute(0, 3, 1, 2)


class Head(nn.Module):
    def __init__(self, c1, n_out):
        super().__init__()
        self.conv = nn.Conv2d(c1, c1, 3, 1, 1)
        self.bn = nn.BatchNorm2d(c1, eps=1e-5)
        self.out = nn.Conv2d(c1, n_out, 1)

    def forward(self, x):
        return self.out(F.gelu(self.bn(self.conv(x))))


class Norm(nn.Module):
    def __init__(self, bins):
        super().__init__()
        self.register_buffer("mean", torch.zeros(4, bins))
        self.register_buffer("std", torch.ones(4, bins))


class Separator(nn.Module):
    """Masks to estimates (step 7): subclasses define masks(X) -> (4 S, F, T)."""

    def forward(self, X):
        """X complex (2, F, T) -> dict stem -> complex estimate (2, F, T) = mask * X."""
        m = self.masks(X)
        out = {}
        for s, name in enumerate(self.stems):
            if self.residual and s == len(self.stems) - 1:  # the rest of the mixture
                out[name] = X - sum(out.values())
                break
            M = torch.complex(m[4 * s + 0::2][:2], m[4 * s + 1::2][:2])  # channels L, R
            out[name] = M * X
        return out


def features(norm, X):
    feat = torch.stack([X[0].real, X[0].imag, X[1].real, X[1].imag])  # re L, im L, re R, im R
    return (feat - norm.mean[:, :, None]) / norm.std[:, :, None]


class TFSWAUNet(Separator):
    def __init__(self, cfg):
        super().__init__()
        d, c, h = cfg["depths"], cfg["dims"], cfg["heads"]
        w, r = cfg["window"], cfg["mlp_ratio"]
        self.stems = cfg["stems"]
        bins = cfg["n_fft"] // 2 + 1
        self.norm = Norm(bins)
        self.stem = ConvBN(4, c[0], 7, 1, 3)
        self.enc = nn.ModuleList([Stage(d[i], c[i], h[i], r * c[i], w, down=c[i + 1]) for i in range(3)])
        self.mid = Stage(d[3], c[3], h[3], r * c[3], w)
        self.dec = nn.ModuleList([Stage(d[i], c[i], h[i], r * c[i], w, up=c[i + 1]) for i in range(3)])
        self.head = Head(c[0], 4 * len(self.stems))
        self.residual = False  # mask kind 'residual': the last stem is X minus the others

    def masks(self, X):
        """X: complex tensor (2, F, T). Returns masks (4 S, F, T) real."""
        T = X.shape[-1]
        if T < MIN_FRAMES:  # silent frames up to the minimum, cropped after
            X = F.pad(X, (0, MIN_FRAMES - T))
        x = self.stem(features(self.norm, X)[None])
        skips = []
        for i in range(3):
            x = self.enc[i].run_blocks(x)
            skips.append(x)
            x = self.enc[i].down(x)
        x = self.mid.run_blocks(x)
        for i in (2, 1, 0):
            x = self.dec[i].up(x)
            sk = skips[i]
            x = F.pad(x, (0, sk.shape[3] - x.shape[3], 0, sk.shape[2] - x.shape[2])) + sk
            x = self.dec[i].run_blocks(x)
        return self.head(x)[0, :, :, :T]


class BandEmbed(nn.Module):
    def __init__(self, w, D, C=4):
        super().__init__()
        self.norm = nn.LayerNorm(C * w, eps=1e-5)
        self.fc = nn.Linear(C * w, D)


class BandNet(Separator):
    """arch band: per-band embedding, TFSWA blocks over (bands, frames), per-band mask MLP."""

    def __init__(self, cfg):
        super().__init__()
        D, w, S = cfg["dims"][0], cfg["bands"], len(cfg["stems"])
        self.stems, self.widths = cfg["stems"], w
        self.residual = False
        self.norm = Norm(sum(w))
        self.logmag = cfg.get("features", "complex") == "logmag"
        C = 6 if self.logmag else 4
        self.band = nn.ModuleList([BandEmbed(wk, D, C) for wk in w])
        self.blocks = nn.ModuleList([Block(D, cfg["heads"][0], cfg["mlp_ratio"] * D, cfg["window"])
                                     for _ in range(cfg["depths"][0])])
        self.norm_out = nn.LayerNorm(D, eps=1e-5)
        self.mask = nn.ModuleList([Mlp(D, cfg["mask_hidden"], 4 * S * wk) for wk in w])

    def masks(self, X):
        x = features(self.norm, X)  # (4, F, T)
        if self.logmag:  # and log |normalised bin| of L and R: (6, F, T)
            mag = [0.5 * torch.log(x[2 * c] ** 2 + x[2 * c + 1] ** 2 + 1e-3) for c in range(2)]
            x = torch.cat([x, torch.stack(mag)])
        T, S4 = x.shape[-1], 4 * len(self.stems)
        edges = np.cumsum([0] + self.widths)
        # band k's input at frame t: its bins j and channels ch, index C j + ch
        h = torch.stack([e.fc(e.norm(x[:, b0:b1].permute(2, 1, 0).reshape(T, -1)))
                         for e, b0, b1 in zip(self.band, edges[:-1], edges[1:])])[None]  # (1, K, T, D)
        for b in self.blocks:
            h = b(h)
        h = self.norm_out(h)[0]
        # band k's output index 4 S j + 4 s + 2 c + p: bin b0 + j, mask channel 4 s + 2 c + p
        return torch.cat([m(h[k]).reshape(T, w, S4).permute(2, 1, 0)
                          for k, (m, w) in enumerate(zip(self.mask, self.widths))], dim=1)  # (4 S, F, T)


def load(path, dtype=torch.float32):
    """Reads a checkpoint: returns (model, attrs)."""
    with open(path, "rb") as f:
        records = list(tfswa_stream.read(f))
    if len(records) != 1:
        raise ValueError(f"{path}: {len(records)} records, a checkpoint holds 1")
    attrs, tensors = records[0]
    if attrs.get("format") != "tfswa-checkpoint" or attrs.get("checkpoint_version") != "1":
        raise ValueError(f"{path}: not a version 1 tfswa checkpoint")
    ints = lambda k: [int(v) for v in attrs[k].split(",")]  # noqa: E731
    cfg = dict(depths=ints("depths"), dims=ints("dims"), heads=ints("heads"), window=int(attrs["window"]),
               mlp_ratio=int(attrs["mlp_ratio"]), n_fft=int(attrs["n_fft"]), stems=attrs["stems"].split(","))
    if attrs.get("mask", "unbounded") not in ("unbounded", "residual"):
        raise ValueError(f"{path}: mask kind {attrs['mask']} not supported")
    arch = attrs.get("arch", "unet")
    if arch == "band":
        cfg.update(bands=ints("bands"), mask_hidden=int(attrs["mask_hidden"]),
                   features=attrs.get("features", "complex"))
        if cfg["features"] not in ("complex", "logmag"):
            raise ValueError(f"{path}: features {cfg['features']} not supported")
        model = BandNet(cfg)
    elif arch == "unet":
        model = TFSWAUNet(cfg)
    else:
        raise ValueError(f"{path}: arch {arch} not supported")
    model.residual = attrs.get("mask") == "residual"
    state = {k: torch.from_numpy(np.array(v)) for k, v in tensors.items()
             if not k.startswith(("optim/", "train/"))}
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise ValueError(f"{path}: missing {missing}, unexpected {unexpected}")
    return model.to(dtype).eval(), attrs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-m", "--model", required=True)
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--double", action="store_true", help="compute in float64 (results stored as c64)")
    ap.add_argument("--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    dt = torch.float64 if a.double else torch.float32
    model, _ = load(a.model, dt)
    out = []
    with open(a.input, "rb") as f, torch.no_grad():
        for attrs, tensors in tfswa_stream.read(f):
            X = torch.from_numpy(np.array(tensors["mixture"])).to(torch.complex128 if a.double else torch.complex64)
            est = model(X)
            tensors = dict(tensors)
            for name, e in est.items():
                tensors["est/" + name] = e.numpy().astype(np.complex64)
            out.append((attrs, tensors))
    with open(a.output, "wb") as f:
        tfswa_stream.write(f, out)


if __name__ == "__main__":
    main()
