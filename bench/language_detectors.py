"""Benchmark: language detectors on the project's own short customer messages.

    python -m bench.language_detectors [--detector NAME] [--samples FILE] [--misses] [--in-rasa]

`project` is the bot's own decision (bot/nlp/language.py: lingua in low-accuracy mode on the
project's languages, with the rules for short English messages); "?" is its "undecided". The
others are raw detectors: their top guess for every message. Each detector runs in a fresh process
(memory is the growth of the process's resident set from loading the library and its model,
restricted to the languages of the sample file where the library allows it). Reports, per
detector: accuracy on the foreign messages, how many English messages it takes for another
language, the memory it adds and the time per message. Only `lingua` is a project dependency;
install the others in a scratch environment to compare (`pip install langid langdetect`).
`--detector project --in-rasa` imports Rasa, TensorFlow and spaCy first, as in the Rasa process,
so that the memory is what the detector adds there.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List

import psutil
import yaml

SAMPLES = Path(__file__).resolve().parent.parent / "tests" / "languages" / "samples.yml"
DETECTORS = ("project", "lingua", "lingua-low", "langid", "langdetect")


def _lingua(languages: List[str], low: bool) -> Callable[[str], str]:
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    wanted = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in languages]
    builder = LanguageDetectorBuilder.from_languages(*wanted).with_preloaded_language_models()
    if low:
        builder = builder.with_low_accuracy_mode()
    detector = builder.build()

    def detect(text: str) -> str:
        found = detector.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found else "?"
    return detect


def _project() -> Callable[[str], str]:
    from bot.nlp.language import LanguageIdentifier

    identifier = LanguageIdentifier()
    return lambda text: identifier.identify(text).language or "?"


def _langid(languages: List[str]) -> Callable[[str], str]:
    from langid.langid import LanguageIdentifier, model

    identifier = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    identifier.set_languages(languages)
    return lambda text: identifier.classify(text)[0]


def _langdetect(_languages: List[str]) -> Callable[[str], str]:
    from langdetect import DetectorFactory, LangDetectException, detect

    DetectorFactory.seed = 0  # langdetect is random without a seed

    def guess(text: str) -> str:
        try:
            return detect(text).split("-")[0]
        except LangDetectException:
            return "?"
    return guess


def measure(name: str, samples: Dict[str, List[str]], in_rasa: bool = False) -> Dict[str, object]:
    if in_rasa:
        import rasa.core.agent  # noqa: F401
        import spacy  # noqa: F401
        import tensorflow  # noqa: F401
    process = psutil.Process()
    before = process.memory_info().rss
    languages = sorted(samples)
    build = {"project": _project, "lingua": lambda: _lingua(languages, False),
             "lingua-low": lambda: _lingua(languages, True), "langid": lambda: _langid(languages),
             "langdetect": lambda: _langdetect(languages)}[name]
    started = time.perf_counter()
    detect = build()
    detect("warm up the model")
    load_seconds = time.perf_counter() - started
    grown = process.memory_info().rss - before
    english_wrong, foreign_right, foreign_total, undecided, misses = 0, 0, 0, 0, []
    started = time.perf_counter()
    for language, texts in samples.items():
        for text in texts:
            guess = detect(str(text))
            if language == "en":
                english_wrong += guess not in ("en", "?") if name == "project" else guess != "en"
            else:
                foreign_total += 1
                foreign_right += guess == language
                undecided += guess == "?"
            if guess != language:
                misses.append(f"{language}->{guess}: {text}")
    count = sum(len(texts) for texts in samples.values())
    return {
        "detector": name, "memory_mb": round(grown / 2**20, 1), "load_s": round(load_seconds, 2),
        "ms_per_message": round(1000 * (time.perf_counter() - started) / count, 3),
        "foreign_accuracy": round(foreign_right / foreign_total, 3), "foreign": foreign_total,
        "foreign_undecided": undecided,
        "english_taken_for_foreign": english_wrong, "english": len(samples.get("en", [])), "misses": misses,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--detector", choices=DETECTORS)
    parser.add_argument("--samples", default=str(SAMPLES))
    parser.add_argument("--misses", action="store_true", help="list every wrong guess")
    parser.add_argument("--in-rasa", action="store_true", help="measure inside a process that imported Rasa")
    args = parser.parse_args()
    samples = yaml.safe_load(Path(args.samples).read_text(encoding="utf-8"))
    if args.detector:
        print(json.dumps(measure(args.detector, samples, args.in_rasa)))
        return 0
    for name in DETECTORS:  # one process each: memory and import state must not mix
        run = subprocess.run([sys.executable, "-m", "bench.language_detectors", "--detector", name,
                              "--samples", args.samples], capture_output=True, text=True)
        if run.returncode != 0:
            print(f"{name}: not available ({run.stderr.strip().splitlines()[-1] if run.stderr else 'failed'})")
            continue
        result = json.loads(run.stdout)
        misses = result.pop("misses")
        print(json.dumps(result))
        if args.misses:
            print("\n".join(f"  {m}" for m in misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
