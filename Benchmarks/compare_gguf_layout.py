#!/usr/bin/env python3
"""Compare two GGUF files' layout: tensor names, shapes and types, and metadata keys (with values for the
`<arch>.*` and `tokenizer.*` keys, the first differing entries of arrays such as tokenizer.ggml.token_type, and
the order of the tokenizer.* keys; `general.*` keys are listed with both values, they are the converter's
naming and version details).

Used to check `qwenkit quantize` against llama.cpp's convert_hf_to_gguf.py + llama-quantize output:

    /tmp/ggufenv/bin/python Benchmarks/compare_gguf_layout.py /root/gguf/bench-0.8b-Q4_K_M.gguf /tmp/mtp-q4km.gguf

Needs gguf-py (`pip install gguf`). Exit status 1 when tensors or non-general metadata differ.
"""
import sys

import gguf


def load(path):
    r = gguf.GGUFReader(path)
    meta = {}
    for k, f in r.fields.items():
        if k.startswith("GGUF."):
            continue
        try:
            meta[k] = f.contents()
        except Exception:  # noqa: BLE001 - a value gguf-py cannot decode is compared by its type only
            meta[k] = f"<{f.types}>"
    tensors = {t.name: (tuple(int(x) for x in t.shape), t.tensor_type.name) for t in r.tensors}
    order = [t.name for t in r.tensors]
    return meta, tensors, order


def short(v):
    s = repr(v)
    return s if len(s) <= 80 else s[:77] + "..."


def main(ref_path, ours_path):
    ref_meta, ref_t, ref_order = load(ref_path)
    our_meta, our_t, our_order = load(ours_path)
    bad = 0

    print(f"tensors: reference {len(ref_t)}, ours {len(our_t)}")
    for name in sorted(set(ref_t) - set(our_t)):
        print(f"  only in reference: {name} {ref_t[name]}")
        bad += 1
    for name in sorted(set(our_t) - set(ref_t)):
        print(f"  only in ours:      {name} {our_t[name]}")
        bad += 1
    same = 0
    for name in ref_order:
        if name in our_t:
            if ref_t[name] != our_t[name]:
                print(f"  differs: {name} reference {ref_t[name]} ours {our_t[name]}")
                bad += 1
            else:
                same += 1
    print(f"  same name, ggml dims and type: {same}")
    common_ref = [n for n in ref_order if n in our_t]
    common_our = [n for n in our_order if n in ref_t]
    print(f"  same order: {common_ref == common_our}")

    print(f"metadata keys: reference {len(ref_meta)}, ours {len(our_meta)}")
    for k in sorted(set(ref_meta) | set(our_meta)):
        general = k.startswith("general.")
        if k not in our_meta:
            print(f"  only in reference{' (general)' if general else ''}: {k} = {short(ref_meta[k])}")
            bad += not general
        elif k not in ref_meta:
            print(f"  only in ours{' (general)' if general else ''}: {k} = {short(our_meta[k])}")
            bad += not general
        elif ref_meta[k] != our_meta[k]:
            print(f"  value differs{' (general)' if general else ''}: {k} reference {short(ref_meta[k])} ours {short(our_meta[k])}")
            a, b = ref_meta[k], our_meta[k]
            if isinstance(a, list) and isinstance(b, list):
                diff = [i for i in range(min(len(a), len(b))) if a[i] != b[i]]
                print(f"    lengths {len(a)} / {len(b)}, {len(diff)} entries differ" +
                      "".join(f"\n    [{i}] reference {short(a[i])} ours {short(b[i])}" for i in diff[:8]))
            bad += not general
    ref_tok = [k for k in ref_meta if k.startswith("tokenizer.")]
    our_tok = [k for k in our_meta if k.startswith("tokenizer.")]
    print(f"  tokenizer.* key order the same: {ref_tok == our_tok}")
    print("RESULT:", "same layout" if bad == 0 else f"{bad} difference(s) outside general.*")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
