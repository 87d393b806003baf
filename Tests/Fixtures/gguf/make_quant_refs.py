"""Writes quant_refs.gguf: for each ggml block format, random blocks (plus an all-zero block and blocks with
edge scales) as a raw tensor `<TYPE>` and gguf-py's dequantisation of them as an F32 tensor `<TYPE>.ref`.
Run with gguf-py (pip install gguf numpy): python make_quant_refs.py  (seeded: the output is reproducible)."""
import numpy as np
import gguf
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T
from gguf.quants import dequantize

# Offsets of the f16 scale fields inside each block (random bytes there could be inf/NaN).
F16_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
    T.IQ4_NL: [0], T.IQ4_XS: [0],
}
rng = np.random.default_rng(11)
w = gguf.GGUFWriter("quant_refs.gguf", arch="quant-refs")
for qtype, fields in F16_FIELDS.items():
    block_elems, block_bytes = GGML_QUANT_SIZES[qtype]
    nblocks = 4 if block_elems == 256 else 8
    raw = rng.integers(0, 256, size=(nblocks, block_bytes), dtype=np.uint8)
    for b in range(nblocks):
        for off in fields:
            raw[b, off:off + 2] = np.frombuffer(np.float16(rng.uniform(-0.05, 0.05)).tobytes(), np.uint8)
    raw[1, :] = 0                                    # all-zero block
    for off in fields:                               # edge scales: largest finite f16, smallest subnormal
        raw[2, off:off + 2] = np.frombuffer(np.float16(65504.0).tobytes(), np.uint8)
        raw[3, off:off + 2] = np.frombuffer(np.array([1], np.uint16).tobytes(), np.uint8)
    flat = raw.reshape(1, -1)
    ref = dequantize(flat, qtype).reshape(-1).astype(np.float32)
    name = qtype.name
    w.add_tensor(name, flat, raw_dtype=qtype)
    w.add_tensor(name + ".ref", ref)
# Plain formats too: F16 and BF16 bit patterns (incl. subnormals), and their f32 values.
bits = rng.integers(0, 65536, size=256, dtype=np.uint16)
bits = bits[(bits & 0x7C00) != 0x7C00]              # drop f16 inf/NaN
w.add_tensor("F16", bits.view(np.float16))
w.add_tensor("F16.ref", bits.view(np.float16).astype(np.float32))
bbits = rng.integers(0, 65536, size=256, dtype=np.uint16)
bbits = bbits[(bbits & 0x7F80) != 0x7F80][:192]     # drop bf16 inf/NaN
w.add_tensor("BF16", bbits.view(np.uint8).reshape(1, -1), raw_dtype=T.BF16)
w.add_tensor("BF16.ref", dequantize(bbits.view(np.uint8).reshape(1, -1), T.BF16).reshape(-1).astype(np.float32))
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
