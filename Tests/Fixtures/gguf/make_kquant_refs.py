"""Writes kquant_refs.gguf: llama.cpp's own blocks for QwenKit's quantisers to match. `src` is an F32 tensor of
2 rows x 512 values (gaussian rows of two scales, an all-zero block, a constant block and one outlier); for each
format `qwenkit quantize` writes (Q4_0, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K) the tensor `<TYPE>` holds the blocks
ggml's `quantize_<type>` writes for it (no importance matrix, i.e. `quantize_row_<type>_ref`).
Run with gguf-py and a built llama.cpp: LIBGGML=/root/llama.cpp/build/bin/libggml-base.so python make_kquant_refs.py
(seeded: the output is reproducible)."""
import ctypes, os
import numpy as np
import gguf
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T

lib = ctypes.CDLL(os.environ.get("LIBGGML", "/root/llama.cpp/build/bin/libggml-base.so"))
rng = np.random.default_rng(23)
rows, cols = 2, 512
src = rng.standard_normal((rows, cols)).astype(np.float32)
src[0] *= 0.02                      # weight-like magnitudes
src[1] *= 3.0
src[1, 0:32] = 0                    # all-zero 32-block (and part of a 256-block)
src[1, 256:288] = 0.5               # constant block
src[0, 300] = 40.0                  # one outlier
w = gguf.GGUFWriter("kquant_refs.gguf", arch="kquant-refs")
w.add_tensor("src", src)
for qtype in [T.Q4_0, T.Q5_0, T.Q5_1, T.Q8_0, T.Q4_K, T.Q5_K, T.Q6_K]:
    block_elems, block_bytes = GGML_QUANT_SIZES[qtype]
    out = np.zeros((rows, cols // block_elems * block_bytes), np.uint8)
    fn = getattr(lib, "quantize_" + qtype.name.lower().replace("_k", "_K"))
    fn.restype = ctypes.c_size_t
    fn(src.ctypes.data_as(ctypes.c_void_p), out.ctypes.data_as(ctypes.c_void_p),
       ctypes.c_int64(rows), ctypes.c_int64(cols), ctypes.c_void_p(0))
    w.add_tensor(qtype.name, out, raw_dtype=qtype)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
