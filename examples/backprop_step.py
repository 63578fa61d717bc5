"""One backpropagation step on a tiny network, weight by weight.

The 2-2-2 sigmoid network of Matt Mazur's classic worked example (inputs 0.05,
0.10; targets 0.01, 0.99). Loss: the mean squared error over the 2 outputs. The
script computes the gradients three ways — by hand with the chain rule in NumPy,
with fastmlp's ``loss_and_grads``, and with PyTorch autograd (skipped if torch is
not installed) — then takes one SGD step (lr=0.5) and prints every weight before
and after it.

Run: python examples/backprop_step.py [--quick] [--out DIR]
"""

import numpy as np
from _common import parse_args, save

import fastmlp

X = np.array([[0.05, 0.10]])
T = np.array([[0.01, 0.99]])
W1 = np.array([[0.15, 0.20], [0.25, 0.30]])  # (out, in), as torch.nn.Linear
B1 = np.array([0.35, 0.35])
W2 = np.array([[0.40, 0.45], [0.50, 0.55]])
B2 = np.array([0.60, 0.60])
LR = 0.5


def by_hand():
    """Forward, loss and the chain rule written out."""
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    h = sig(X @ W1.T + B1)  # hidden activations
    o = sig(h @ W2.T + B2)  # outputs
    loss = np.mean((o - T) ** 2)
    d_o = 2 * (o - T) / T.size  # dL/do
    d_z2 = d_o * o * (1 - o)  # through the output sigmoid
    g_w2, g_b2 = d_z2.T @ h, d_z2.sum(0)
    d_z1 = (d_z2 @ W2) * h * (1 - h)  # back through W2 and the hidden sigmoid
    g_w1, g_b1 = d_z1.T @ X, d_z1.sum(0)
    return loss, [g_w1, g_b1, g_w2, g_b2]


def with_fastmlp():
    net = fastmlp.MLP([2, 2, 2], activation="sigmoid", output_activation="sigmoid", dtype="float64", seed=0)
    for layer, w, b in zip(net.layers, (W1, W2), (B1, B2)):
        layer.weight, layer.bias = w, b
    loss, grads = net.loss_and_grads(X, T, "mse")
    net.train_step(X, T, "mse", fastmlp.optim.SGD(lr=LR))
    after = [a.copy() for a in net.parameters()]
    return loss, [g for pair in grads for g in pair], after


def with_torch():
    try:
        import torch
    except ImportError:
        return None
    net = torch.nn.Sequential(
        torch.nn.Linear(2, 2), torch.nn.Sigmoid(), torch.nn.Linear(2, 2), torch.nn.Sigmoid()
    ).double()
    with torch.no_grad():
        for lin, w, b in zip((net[0], net[2]), (W1, W2), (B1, B2)):
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
    opt = torch.optim.SGD(net.parameters(), lr=LR)
    loss = torch.nn.functional.mse_loss(net(torch.from_numpy(X)), torch.from_numpy(T))
    loss.backward()
    grads = [p.grad.numpy().copy() for p in net.parameters()]
    opt.step()
    return loss.item(), grads, [p.detach().numpy().copy() for p in net.parameters()]


def main():
    args = parse_args(__doc__)
    names = ["W1", "b1", "W2", "b2"]
    before = [W1, B1, W2, B2]
    hand_loss, hand_grads = by_hand()
    fm_loss, fm_grads, fm_after = with_fastmlp()
    torch_result = with_torch()
    print(
        f"loss: by hand {hand_loss:.10f}  fastmlp {fm_loss:.10f}"
        + (f"  torch {torch_result[0]:.10f}" if torch_result else "  (torch not installed)")
    )
    header = f"{'weight':8} {'before':>10} {'grad (hand)':>14} {'grad (fastmlp)':>15} {'after (fastmlp)':>16}"
    print(header + (f" {'after (torch)':>14}" if torch_result else ""))
    rows = []
    for k, name in enumerate(names):
        for idx in np.ndindex(before[k].shape):
            label = name + "".join(f"[{i}]" for i in idx)
            row = (before[k][idx], hand_grads[k][idx], fm_grads[k][idx], fm_after[k][idx])
            line = f"{label:8} {row[0]:10.6f} {row[1]:14.8f} {row[2]:15.8f} {row[3]:16.8f}"
            if torch_result:
                line += f" {torch_result[2][k][idx]:14.8f}"
            print(line)
            rows.append((label, row[0], row[3]))
    worst = max(np.max(np.abs(a - b)) for a, b in zip(hand_grads, fm_grads))
    print(f"largest |grad by hand - grad fastmlp| = {worst:.2e}")
    if torch_result:
        worst_t = max(np.max(np.abs(a - b)) for a, b in zip(torch_result[2], fm_after))
        print(f"largest |after torch - after fastmlp| = {worst_t:.2e}")

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4))
    pos = np.arange(len(rows))
    ax.bar(pos - 0.2, [r[1] for r in rows], 0.4, label="before")
    ax.bar(pos + 0.2, [r[2] for r in rows], 0.4, label="after one SGD step")
    ax.set_xticks(pos, [r[0] for r in rows], rotation=45)
    ax.set_title("every weight of the 2-2-2 network before and after one step")
    ax.legend()
    save(fig, args, "backprop_step.png")


if __name__ == "__main__":
    main()
