"""torch's cuDNN attention on the vision tower's own layout: one packed qkv [views x 1024, 3 x heads x hd] buffer,
q/k/v as strided [views, heads, 1024, hd] views of it, output [views, 1024, heads x hd]. Usage:
python3 sdpa_packed.py [views] [reps]  (reps 1 with CUDNN_LOGLEVEL_DBG=3 dumps the backend graph cuDNN accepted)."""
import sys
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

views = int(sys.argv[1]) if len(sys.argv) > 1 else 26
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 50
for heads, hd in ((12, 64),):
    D = heads * hd
    qkv = torch.randn(views * 1024, 3 * D, device="cuda", dtype=torch.bfloat16)
    q, k, v = (qkv[:, i * D:(i + 1) * D].view(views, 1024, heads, hd).transpose(1, 2) for i in range(3))
    with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v)
        if reps > 1:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(reps):
                torch.nn.functional.scaled_dot_product_attention(q, k, v)
            end.record()
            torch.cuda.synchronize()
            us = start.elapsed_time(end) * 1000 / reps
            print(f"packed hd{hd} x {heads} views {views} cuDNN: {us:.1f} us, {4.0 * views * heads * 1024 * 1024 * hd / us / 1e6:.0f} TFLOP/s, out strides {out.stride()}")
    torch.cuda.synchronize()
