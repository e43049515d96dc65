"""Reference embeddings for tests/models/embed.rs, computed independently of candle.

A plain NumPy (float64) implementation of BERT inference plus
sentence-transformers' pooling for all-MiniLM-L6-v2: mean of token vectors
under the attention mask, then L2 normalisation. It reads the same files the
crate reads (from scripts/lib/models.sh). sentence-transformers itself needs
PyTorch, which is not practical to install here; this follows its modules
(BertModel -> Pooling(mean) -> Normalize) step by step.

    python3 -m venv /tmp/refvenv && /tmp/refvenv/bin/pip install numpy safetensors tokenizers
    /tmp/refvenv/bin/python tests/data/minilm_reference.py .cache/models/minilm > tests/data/minilm_reference.json
"""

import json
import math
import sys

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

# Same texts as the Rust test; the last is longer than 256 tokens (truncated).
TEXTS = [
    "heart attack",
    "The patient was admitted with acute myocardial infarction and started on aspirin.",
    " ".join(["Chest pain radiating to the left arm, relieved by nitroglycerin."] * 30),
]
MAX_TOKENS = 256

erf = np.vectorize(math.erf)


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def linear(x, w, prefix):
    return x @ w[prefix + ".weight"].astype(np.float64).T + w[prefix + ".bias"]


def embed(model_dir, text):
    cfg = json.load(open(f"{model_dir}/config.json"))
    w = {k: v.astype(np.float64) for k, v in load_file(f"{model_dir}/model.safetensors").items() if v.dtype != np.int64}
    tok = Tokenizer.from_file(f"{model_dir}/tokenizer.json")
    tok.no_padding()
    tok.enable_truncation(MAX_TOKENS)
    ids = tok.encode(text).ids
    n, d, heads = len(ids), cfg["hidden_size"], cfg["num_attention_heads"]
    eps = cfg["layer_norm_eps"]
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:n]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    hd = d // heads
    for i in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{i}"
        q = linear(x, w, f"{p}.attention.self.query").reshape(n, heads, hd).transpose(1, 0, 2)
        k = linear(x, w, f"{p}.attention.self.key").reshape(n, heads, hd).transpose(1, 0, 2)
        v = linear(x, w, f"{p}.attention.self.value").reshape(n, heads, hd).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        ctx = (scores @ v).transpose(1, 0, 2).reshape(n, d)
        a = linear(ctx, w, f"{p}.attention.output.dense")
        x = layer_norm(a + x, w[f"{p}.attention.output.LayerNorm.weight"], w[f"{p}.attention.output.LayerNorm.bias"], eps)
        h = linear(x, w, f"{p}.intermediate.dense")
        h = 0.5 * h * (1.0 + erf(h / math.sqrt(2.0)))  # exact (erf) GELU, "gelu" in config.json
        o = linear(h, w, f"{p}.output.dense")
        x = layer_norm(o + x, w[f"{p}.output.LayerNorm.weight"], w[f"{p}.output.LayerNorm.bias"], eps)
    pooled = x.mean(0)  # one unpadded text: the mask is all ones
    return len(ids), pooled / max(np.linalg.norm(pooled), 1e-12)


def main():
    model_dir = sys.argv[1]
    out = []
    for text in TEXTS:
        n, vec = embed(model_dir, text)
        out.append({"tokens": n, "embedding": [round(float(v), 7) for v in vec]})
    json.dump({"texts": TEXTS, "max_tokens": MAX_TOKENS, "references": out}, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
