import json
from pathlib import Path

import pytest

from bot.nlp import eval_report
from bot.nlp.fallback_check import Parsed, fallback_share, falls_back, summary
from bot.nlp.fallback_check import main as fallback_main


def write_report(folder: Path, deny_f1: float, name: str = eval_report.INTENT_REPORT) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    report = {
        "greet": {"precision": 1.0, "recall": 1.0, "f1-score": 1.0, "support": 15},
        "deny": {"precision": 0.8, "recall": 0.9, "f1-score": deny_f1, "support": 15},
        "media_received": {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 1},
        "accuracy": 0.95,
        "macro avg": {"precision": 0.6, "recall": 0.6, "f1-score": 0.6, "support": 31},
        "weighted avg": {"precision": 0.9, "recall": 0.95, "f1-score": 0.9, "support": 31},
    }
    (folder / name).write_text(json.dumps(report))
    return folder


def test_report_prints_macro_f1_of_every_run_over_labels_with_enough_messages(tmp_path: Path, capsys) -> None:
    holdout = write_report(tmp_path / "holdout", 0.9)
    cross = write_report(tmp_path / "cv", 0.842)
    write_report(cross, 0.5, eval_report.RESPONSE_REPORT)
    assert eval_report.main([str(holdout), str(cross)]) == 0
    out = capsys.readouterr().out
    assert ("holdout: intent macro-F1 0.950 over 2 labels (meets target 0.92); weakest: deny 0.900, greet 1.000; "
            "not scored (< 10 messages): media_received") in out
    assert "cv: intent macro-F1 0.921 over 2 labels (meets" in out
    assert "cv: faq response macro-F1 0.500 over 3 labels" in out


def test_report_fails_when_one_run_is_below_target(tmp_path: Path, capsys) -> None:
    runs = [str(write_report(tmp_path / "holdout", 0.94)), str(write_report(tmp_path / "cv", 0.82))]
    assert eval_report.main(runs) == 1
    assert "cv: intent macro-F1 0.910 over 2 labels (BELOW target 0.92)" in capsys.readouterr().out
    assert eval_report.main(runs + ["--target", "0.9"]) == 0
    assert eval_report.main(runs + ["--min-support", "1"]) == 1


@pytest.mark.parametrize("content", ["{}", "[1, 2]", '{"greet": {"precision": 1.0}}', "not json"])
def test_report_explains_a_broken_report(tmp_path: Path, capsys, content: str) -> None:
    (tmp_path / eval_report.INTENT_REPORT).write_text(content)
    assert eval_report.main([str(tmp_path)]) == 2
    assert "intent_report.json" in capsys.readouterr().err


def test_report_explains_a_missing_report(tmp_path: Path, capsys) -> None:
    assert eval_report.main([str(tmp_path / "never-run")]) == 2
    assert "intent_report.json not found: run `rasa test nlu" in capsys.readouterr().err


def parsed(predicted: str, confidence: float, margin: float, expected: str = "greet") -> Parsed:
    return Parsed("text", expected, predicted, "greet", confidence, margin)


@pytest.mark.parametrize(
    "confidence, margin, expected", [(0.39, 0.39, True), (0.95, 0.05, True), (0.41, 0.2, False)]
)
def test_a_message_falls_back_when_unsure_or_ambiguous(confidence: float, margin: float, expected: bool) -> None:
    assert falls_back(parsed("greet", confidence, margin), threshold=0.4, ambiguity=0.1) is expected


def test_summary_counts_caught_out_of_scope_and_wrong_fallbacks() -> None:
    out_of_scope = [parsed("nlu_fallback", 0.2, 0.1, "nlu_fallback"), parsed("greet", 0.9, 0.8, "nlu_fallback")]
    in_scope = [parsed("greet", 0.9, 0.8), parsed("nlu_fallback", 0.3, 0.1), parsed("greet", 0.8, 0.7),
                parsed("greet", 0.7, 0.6)]
    result = summary(out_of_scope, in_scope)
    assert result["out_of_scope_caught"] == 0.5
    assert result["in_scope_falling_back"] == 0.25
    assert [m["predicted"] for m in result["missed_out_of_scope"]] == ["greet"]
    assert len(result["in_scope_fallbacks"]) == 1


def test_fallback_check_refuses_missing_files(tmp_path: Path, capsys) -> None:
    assert fallback_main([str(tmp_path / "model.tar.gz"), str(tmp_path / "a.yml"), str(tmp_path / "b.yml")]) == 2
    assert "model.tar.gz not found" in capsys.readouterr().err


def test_fallback_share_at_other_settings() -> None:
    messages = [parsed("greet", 0.35, 0.3), parsed("greet", 0.55, 0.15), parsed("greet", 0.9, 0.8),
                parsed("greet", 0.95, 0.9)]
    assert fallback_share(messages, threshold=0.4, ambiguity=0.1) == 0.25
    assert fallback_share(messages, threshold=0.6, ambiguity=0.1) == 0.5
    assert fallback_share(messages, threshold=0.3, ambiguity=0.2) == 0.25
