#!/usr/bin/python3
"""Golden vectors for lib/train/optim.c from PyTorch 1.13 (torch.optim.AdamW and
torch.nn.utils.clip_grad_norm_). Run: /usr/bin/python3 make_golden.py > golden.txt
Format: lines "name n v0 v1 ..." with float32 values printed exactly (%.9g)."""
import numpy as np
import torch

rng = np.random.default_rng(7)
n = 37
p0 = rng.standard_normal(n).astype(np.float32)
grads = [rng.standard_normal(n).astype(np.float32) * (0.1 + i) for i in range(6)]
lrs = [1e-3, 2e-3, 3e-3, 2.5e-3, 1e-3, 5e-4]

def line(name, a):
    a = np.asarray(a, dtype=np.float32).ravel()
    return name + " " + str(a.size) + " " + " ".join("%.9g" % x for x in a)

print(line("p0", p0))
for i, g in enumerate(grads):
    print(line("g%d" % i, g))
print(line("lr", lrs))
p = torch.nn.Parameter(torch.tensor(p0))
opt = torch.optim.AdamW([p], lr=lrs[0], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
for i, g in enumerate(grads):
    for group in opt.param_groups:
        group["lr"] = lrs[i]
    p.grad = torch.tensor(g)
    opt.step()
    print(line("p%d" % (i + 1), p.detach().numpy()))
st = opt.state[p]
print(line("m", st["exp_avg"].numpy()))
print(line("v", st["exp_avg_sq"].numpy()))
# clip_grad_norm_
q = torch.nn.Parameter(torch.zeros(n))
q.grad = torch.tensor(grads[3])
norm = torch.nn.utils.clip_grad_norm_([q], max_norm=1.5)
print(line("clip_norm", [norm.item()]))
print(line("clipped", q.grad.numpy()))
