import json, struct, sys, numpy as np
def st(path, key):
    b = open(path, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8+n]); e = h[key]
    s, t = e['data_offsets']; return np.frombuffer(b[8+n+s:8+n+t], np.float32).reshape(e['shape'])
V = 248320
ll = np.fromfile('ll_q8.f32', np.float32).reshape(-1, V)
qk = st('qk_q8.safetensors', 'logits'); ref = st('qk_bf16.safetensors', 'logits')
def kl(p_logits, q_logits):
    p = np.exp(p_logits - p_logits.max(1, keepdims=True)); p /= p.sum(1, keepdims=True)
    lq = q_logits - q_logits.max(1, keepdims=True); lq = lq - np.log(np.exp(lq).sum(1, keepdims=True))
    lp = np.log(p + 1e-30); return float((p * (lp - lq)).sum(1).mean())
d = np.abs(qk - ll)
print(f"T={ll.shape[0]}  QwenKit vs llama.cpp (same Q8_0 GGUF): top-1 agree {np.mean(qk.argmax(1)==ll.argmax(1)):.3f}, max|Δ| {d.max():.4f}, mean|Δ| {d.mean():.5f}, logit std {ll.std():.3f}")
print(f"mean KL(bf16 || QwenKit Q8_0) = {kl(ref, qk):.6f}   mean KL(bf16 || llama.cpp Q8_0) = {kl(ref, ll):.6f}")
print(f"top-1 vs bf16: QwenKit {np.mean(qk.argmax(1)==ref.argmax(1)):.3f}  llama.cpp {np.mean(ll.argmax(1)==ref.argmax(1)):.3f}")
