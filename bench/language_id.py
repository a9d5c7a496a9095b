"""Language identification on the demo texts: the chosen library (core/language.py) and the
candidates, each in a fresh interpreter. `python -m bench.language_id` prints the table kept in
docs/TRIAGE.md. lingua-language-detector is measured only when installed (it is not a dependency).

Per candidate: load time (import + model), resident memory the model adds, time per text, and
right / wrong / unsure over the labelled demo texts of 10+ characters (tests/language_samples.py).
"""

from __future__ import annotations

import json
import subprocess
import sys

CANDIDATES = {
    "py3langid, desk languages, unsure below 0.7 (chosen)": "chosen",
    "py3langid, all 97 languages": "langid_all",
    "py3langid, the six languages, no threshold": "langid_six",
    "lingua, the six languages (high accuracy)": "lingua_six",
    "lingua, all 75 languages, low accuracy mode": "lingua_all_low",
}

_PROBE = r"""
import json, sys, time
from collections import Counter
from tests.language_samples import labelled_texts

def rss():
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) / 1024

texts = labelled_texts(min_chars=10)
how = sys.argv[1]
before, start = rss(), time.perf_counter()
if how == "chosen":
    from agent_console.core.language import detect_language as detect
    detect("load the model now, please")
elif how.startswith("langid"):
    from py3langid.langid import MODEL_FILE, LanguageIdentifier
    model = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if how == "langid_six":
        model.set_languages(["en", "es", "de", "fr", "pt", "ja"])
    detect = lambda text: model.classify(text)[0]
else:
    from lingua import Language, LanguageDetectorBuilder
    if how == "lingua_six":
        six = [Language.ENGLISH, Language.SPANISH, Language.GERMAN, Language.FRENCH, Language.PORTUGUESE,
               Language.JAPANESE]
        builder = LanguageDetectorBuilder.from_languages(*six)
    else:
        builder = LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode()
    detector = builder.with_preloaded_language_models().build()
    def detect(text):
        found = detector.detect_language_of(text)
        return found.iso_code_639_1.name.lower() if found else None
load_s, memory = time.perf_counter() - start, rss() - before
total, right, wrong = Counter(), Counter(), Counter()
start = time.perf_counter()
for lang, source, text in texts:
    got = detect(text)
    total[lang] += 1
    right[lang] += got == lang
    wrong[lang] += got is not None and got != lang
    if source != "kb":
        total["customer"] += 1
        right["customer"] += got == lang
per_text = (time.perf_counter() - start) / len(texts)
print(json.dumps({"load_s": load_s, "memory_mb": memory, "per_text_ms": per_text * 1000,
                  "total": total, "right": right, "wrong": wrong}))
"""


def measure(how: str) -> dict | None:
    result = subprocess.run([sys.executable, "-c", _PROBE, how], capture_output=True, text=True)
    if result.returncode != 0:
        return None  # not installed
    return json.loads(result.stdout)


def main() -> None:
    languages = ("en", "es", "de", "fr", "pt", "ja")
    print(
        "| candidate | right | wrong | unsure | "
        + " | ".join(languages)
        + " | customer lines | load | memory | per text |"
    )
    print("|---" * (9 + len(languages)) + "|")
    for label, how in CANDIDATES.items():
        row = measure(how)
        if row is None:
            print(f"| {label} | not installed |")
            continue
        total, right, wrong = (
            sum(row[k].get(lang, 0) for lang in languages) for k in ("total", "right", "wrong")
        )
        share = {lang: 100 * row["right"][lang] / row["total"][lang] for lang in (*languages, "customer")}
        per_language = " | ".join(f"{share[lang]:.1f} %" for lang in (*languages, "customer"))
        print(
            f"| {label} | {100 * right / total:.1f} % | {100 * wrong / total:.1f} % "
            f"| {100 * (total - right - wrong) / total:.1f} % | {per_language} | {row['load_s']:.2f} s "
            f"| {row['memory_mb']:.0f} MB | {row['per_text_ms']:.2f} ms |"
        )
    counts = ", ".join(f"{lang} {row['total'][lang]}" for lang in languages)
    print(f"\n{total} texts ({row['total']['customer']} customer lines, the rest from the KB): {counts}")


if __name__ == "__main__":
    main()
