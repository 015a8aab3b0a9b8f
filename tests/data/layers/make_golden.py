#!/usr/bin/python3
"""Golden vectors for tests/unit/test_layers_golden.c from PyTorch (1.13, CPU).

Writes golden.txt: one tensor per line, "name count v1 v2 ...", float32 values
printed with 9 significant digits (exact round trip). For each case: the
inputs and parameters (in PyTorch's own layouts, e.g. ConvTranspose2d weight
(Cin, Cout, kh, kw)), a seeded upstream gradient dy, the output y and the
gradients of sum(dy * y) from autograd. Run: /usr/bin/python3 make_golden.py
"""
import os
import torch

torch.manual_seed(1234)
torch.set_default_dtype(torch.float32)
out = []


def put(name, t):
    v = t.detach().reshape(-1).tolist()
    out.append("%s %d %s" % (name, len(v), " ".join("%.9g" % x for x in v)))


def run(prefix, module, x, params):
    """params: list of (name, parameter) to record with their gradients."""
    x = x.clone().requires_grad_(True)
    put(prefix + ".x", x)
    for n, p in params:
        put(prefix + "." + n, p)
    y = module(x)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    put(prefix + ".dy", dy)
    put(prefix + ".y", y)
    put(prefix + ".dx", x.grad)
    for n, p in params:
        put(prefix + ".d" + n, p.grad)


def rnd(*shape):
    return torch.randn(*shape)


# Linear(5, 3)
m = torch.nn.Linear(5, 3)
run("linear", m, rnd(4, 5), [("w", m.weight), ("b", m.bias)])

# LayerNorm(7), affine parameters made non-trivial
m = torch.nn.LayerNorm(7)
with torch.no_grad():
    m.weight.copy_(rnd(7))
    m.bias.copy_(rnd(7))
run("layernorm", m, rnd(5, 7) * 2 + 1, [("g", m.weight), ("b", m.bias)])

# GELU (exact erf form) over a wide range
run("gelu", torch.nn.GELU(), torch.linspace(-9, 9, 61) + 0.01 * rnd(61), [])

# Conv2d cases: (name, Cin, Cout, kernel, stride, padding, bias, input shape)
convs = [
    ("conv_a", 3, 4, (3, 2), (2, 1), (1, 1), True, (2, 3, 5, 6)),
    ("conv_stem", 4, 3, (7, 7), (1, 1), (3, 3), True, (1, 4, 8, 9)),
    ("conv_down", 3, 5, (4, 4), (2, 2), (1, 1), True, (2, 3, 7, 8)),
    ("conv_head1", 3, 4, (1, 1), (1, 1), (0, 0), True, (2, 3, 3, 5)),
]
for name, cin, cout, k, s, p, bias, shape in convs:
    m = torch.nn.Conv2d(cin, cout, k, stride=s, padding=p, bias=bias)
    put(name + ".dims", torch.tensor([shape[0], cin, shape[2], shape[3], cout, k[0], k[1], s[0], s[1], p[0], p[1]],
                                     dtype=torch.float32))
    run(name, m, rnd(*shape), [("w", m.weight), ("b", m.bias)])

# ConvTranspose2d cases, weight (Cin, Cout, kh, kw)
convts = [
    ("convt_up", 3, 2, (4, 4), (2, 2), (1, 1), (2, 3, 3, 4)),
    ("convt_b", 2, 3, (3, 2), (2, 3), (1, 0), (1, 2, 3, 3)),
]
for name, cin, cout, k, s, p, shape in convts:
    m = torch.nn.ConvTranspose2d(cin, cout, k, stride=s, padding=p)
    assert tuple(m.weight.shape) == (cin, cout, k[0], k[1])
    put(name + ".dims", torch.tensor([shape[0], cin, shape[2], shape[3], cout, k[0], k[1], s[0], s[1], p[0], p[1]],
                                     dtype=torch.float32))
    run(name, m, rnd(*shape), [("w", m.weight), ("b", m.bias)])

# BatchNorm2d(3): training step (batch statistics, running statistics update), then eval
m = torch.nn.BatchNorm2d(3)
with torch.no_grad():
    m.weight.copy_(rnd(3))
    m.bias.copy_(rnd(3))
    m.running_mean.copy_(rnd(3))
    m.running_var.copy_(rnd(3).abs() + 0.5)
put("bn.running_mean0", m.running_mean)
put("bn.running_var0", m.running_var)
m.train()
run("bn_train", m, rnd(2, 3, 4, 5) * 2 + 1, [("g", m.weight), ("b", m.bias)])
put("bn.running_mean1", m.running_mean)
put("bn.running_var1", m.running_var)
m.weight.grad = None
m.bias.grad = None
m.eval()
run("bn_eval", m, rnd(2, 3, 4, 5) * 2 + 1, [("g", m.weight), ("b", m.bias)])

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.txt")
with open(path, "w") as f:
    f.write("\n".join(out) + "\n")
print("wrote %s (%d tensors, torch %s)" % (path, len(out), torch.__version__))
