"""torch's scaled_dot_product_attention backends on the vision attention's problem (attention_bench's: views of
1,024 patches, bidirectional), for the peer line in docs/PERF_NOTES.md. Usage: python3 sdpa_peer.py [views]"""
import sys
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

views = int(sys.argv[1]) if len(sys.argv) > 1 else 26
print("torch", torch.__version__, "cudnn", torch.backends.cudnn.version(), torch.cuda.get_device_name())
for heads, hd in ((12, 64), (16, 72)):
    q, k, v = (torch.randn(views, heads, 1024, hd, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    flops = 4.0 * views * heads * 1024 * 1024 * hd
    ref = None
    for backend in (SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION, SDPBackend.EFFICIENT_ATTENTION):
        try:
            with sdpa_kernel(backend):
                out = torch.nn.functional.scaled_dot_product_attention(q, k, v)
                for _ in range(5):
                    torch.nn.functional.scaled_dot_product_attention(q, k, v)
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                for _ in range(50):
                    torch.nn.functional.scaled_dot_product_attention(q, k, v)
                end.record()
                torch.cuda.synchronize()
            us = start.elapsed_time(end) * 1000 / 50
            ref = out if ref is None else ref
            diff = (out.float() - ref.float()).abs().max().item()
            print(f"hd{hd} heads {heads} views {views} {backend.name}: {us:.1f} us per launch, {flops / us / 1e6:.0f} TFLOP/s, max diff to first {diff:.3g}")
        except Exception as e:
            print(f"hd{hd} {backend.name}: not run ({type(e).__name__}: {str(e)[:120]})")
