"""Real all-MiniLM-L6-v2 vectors for the 74,728 real arXiv records of the scale corpus, made on a GPU.

bench/scale.py embeds only a small sample on this machine's CPU (to measure the rate); with these
vectors every real record of the corpus gets its real embedding, and only the resampled records
beyond 74,728 get derived vectors. Three steps, because the GPU machine sees only what is sent:

    .venv/bin/python bench/embed_gpu.py prepare 0 36000      # -> bench/out/gpu/ (fp16 weights + texts)
    (on the GPU machine, from the repo root)  python3 bench/embed_gpu.py run    # -> $OUT/vec_*.npy, ids.json
    .venv/bin/python bench/embed_gpu.py collect DIR [DIR ...] # -> bench/out/gpu_vectors.npz

The weights travel as float16 (size limit of the transfer) and are computed in float32 there;
`collect` compares with the CPU-embedded sample of bench/out/real_vectors.npz (cosine >= 0.99999).
"""

from __future__ import annotations

import json
import lzma
import os
import shutil
import sys
import time
from pathlib import Path

OUT_DIR = Path(__file__).resolve().parent / "out"
GPU_DIR = OUT_DIR / "gpu"


def prepare(start: int, end: int, corpus: Path = OUT_DIR / "corpus_1000000.jsonl") -> None:
    import torch  # noqa: F401
    from safetensors.torch import load_file, save_file

    from paperwire.models import validated
    from paperwire.search.embed import find_model_dir, paper_text
    from paperwire.sources.snapshot import snapshot_record_to_paper

    src = find_model_dir()
    dst = GPU_DIR / "model"
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.safetensors", "*.bin", "onnx", "openvino", "*.onnx"))
    sd = load_file(src / "model.safetensors")
    save_file({k: v.half() for k, v in sd.items()}, dst / "model.safetensors", metadata={"format": "pt"})
    with open(corpus, encoding="utf-8") as f, lzma.open(GPU_DIR / "texts.jsonl.xz", "wt", preset=6) as out:
        for i, line in enumerate(f):
            if i < start:
                continue
            if i >= end:
                break
            p = validated(snapshot_record_to_paper(json.loads(line)))
            out.write(json.dumps({"id": p.id, "h": p.text_hash(), "t": paper_text(p)}) + "\n")


def run() -> None:  # on the GPU machine
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    out = os.environ.get("OUT", ".")
    rows = [json.loads(line) for line in lzma.open(GPU_DIR / "texts.jsonl.xz", "rt")]
    m = SentenceTransformer(str(GPU_DIR / "model"), device="cuda", local_files_only=True).float()
    texts = [r["t"] for r in rows]
    m.encode(texts[:512], batch_size=256)
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    v = m.encode(texts, batch_size=256, convert_to_numpy=True, normalize_embeddings=True).astype(np.float32)
    torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    print(f"{len(texts)} docs in {dt:.1f}s = {len(texts) / dt:.0f} docs/s on {torch.cuda.get_device_name(0)}")
    for i in range(0, len(v), 9000):  # files of < 16 MiB
        np.save(f"{out}/vec_{i // 9000}.npy", v[i : i + 9000])
    json.dump(
        {
            "ids": [r["id"] for r in rows],
            "hashes": [r["h"] for r in rows],
            "seconds": dt,
            "device": torch.cuda.get_device_name(0),
        },
        open(f"{out}/ids.json", "w"),
    )


def collect(dirs: list[str]) -> None:
    import numpy as np

    ids, hashes, vecs, parts = [], [], [], []
    for d in map(Path, dirs):
        j = json.loads((d / "ids.json").read_text())
        v = np.vstack([np.load(d / f"vec_{k}.npy") for k in range(len(list(d.glob("vec_*.npy"))))])
        assert len(v) == len(j["ids"])
        ids += j["ids"]
        hashes += j["hashes"]
        vecs.append(v)
        parts.append({"docs": len(v), "seconds": j["seconds"], "device": j["device"]})
    allv = np.vstack(vecs).astype(np.float32)
    meta = {"parts": parts}
    cpu_path = OUT_DIR / "real_vectors.npz"
    if cpu_path.exists():
        z = np.load(cpu_path)
        pos = {pid: i for i, pid in enumerate(ids)}
        cos = [float(cv @ allv[pos[pid]]) for pid, cv in zip(z["ids"], z["vecs"], strict=True) if pid in pos]
        meta.update(cpu_cos_min=min(cos), cpu_cos_mean=sum(cos) / len(cos), compared=len(cos))
    np.savez(
        OUT_DIR / "gpu_vectors.npz",
        ids=np.array(ids),
        hashes=np.array(hashes),
        vecs=allv,
        meta=np.array(json.dumps(meta)),
    )
    print(f"{len(ids):,} vectors; {meta}")


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "prepare":
        prepare(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "run":
        run()
    elif cmd == "collect":
        collect(sys.argv[2:])
    else:
        raise SystemExit(__doc__)
