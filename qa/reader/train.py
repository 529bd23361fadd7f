"""Fine-tune the packaged all-MiniLM-L6-v2 as an extractive reader on SQuAD 2.0 (``make reader``).

    python -m qa.reader.train [--data FILE] [--dev FILE] [--epochs N] [--out DIR] ...

The recipe (see MODEL_CARD.md beside the weights): the BERT encoder of the packaged model with a
new start/end head; every training question on its own paragraph, plus for every question one
negative that looks like what the retriever hands the reader at question time, a paragraph of the
same article that does not contain the answer, picked among those sharing the most words with the
question, and one made unanswerable by swapping a name or number of the question for one that
its paragraph never mentions (as SQuAD 2.0's writers did); [CLS] is the target when a window does
not answer. Windows of 384 word pieces, stride
128; batches of 32 windows of similar length; AdamW, linear warm-up and decay; bfloat16 autocast
where the CPU has native bf16 units; attention dropout 0; the word embeddings frozen, so the
shipped file need not carry them. Seeded; 2 threads. At the end it evaluates on the dev file
(each question on its own paragraph) and writes the weights (fp16, without the word embeddings)
and ``training.json`` with the recipe and the dev metrics.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np

from qa import squad
from qa.reader import features as F

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "squad2"
FROZEN = "bert.embeddings.word_embeddings.weight"
"""Not trained and not shipped: loaded from the packaged model."""

_WORD = re.compile(r"\w+")
_STOP = frozenset("the a an of in on at to for and or is was were are be by with what which who when where "
                  "how why did does do from as that this it its his her their".split())


def _terms(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def negatives(questions: list[squad.SquadQuestion], paragraphs: list[tuple[str, str]], rng: random.Random,
              per_question: int = 1) -> list[tuple[str, int]]:
    """(question, paragraph) pairs where the paragraph, of the same article, does not hold the
    answer: drawn among the three other paragraphs sharing most (IDF-weighted) words with the
    question, as a retriever would rank them."""
    by_title: dict[str, list[int]] = {}
    for n, (title, _) in enumerate(paragraphs):
        by_title.setdefault(title, []).append(n)
    para_terms = [_terms(text) for _, text in paragraphs]
    df = Counter(t for terms in para_terms for t in terms)
    idf = {t: math.log(len(paragraphs) / c) for t, c in df.items()}
    out = []
    for q in questions:
        qt = _terms(q.question)
        pool = [n for n in by_title[q.title] if n != q.paragraph
                and not any(a and a in paragraphs[n][1] for a in q.answers)]
        if not pool:
            continue
        pool.sort(key=lambda n: -sum(idf.get(t, 0.0) for t in qt & para_terms[n]))
        for n in rng.sample(pool[:3], min(per_question, len(pool[:3]))):
            out.append((q.question, n))
    return out


_SWAPPABLE = re.compile(r"\b(?:[A-Z][\w'’.-]*[\w]|\d[\d,.]*\d|\d)\b")


def perturbed(questions: list[squad.SquadQuestion], paragraphs: list[tuple[str, str]],
              rng: random.Random) -> list[tuple[str, int]]:
    """Unanswerable (question, paragraph) pairs made the way SQuAD 2.0's writers made theirs: an
    answerable question whose name or number that its paragraph mentions is swapped for one of
    the same sort that another paragraph of the article mentions and this one never does
    ("When did Beyoncé leave Destiny's Child?" -> "When did Solange leave Destiny's Child?").
    The reader learns that a passage about something else does not answer."""
    by_title: dict[str, list[int]] = {}
    for n, (title, _) in enumerate(paragraphs):
        by_title.setdefault(title, []).append(n)
    words = [_SWAPPABLE.findall(text) for _, text in paragraphs]
    out = []
    for q in questions:
        if not q.answers:
            continue
        text = paragraphs[q.paragraph][1].lower()
        found = [m for m in _SWAPPABLE.finditer(q.question) if m.start() > 0 and m.group(0).lower() in text
                 and m.group(0).lower() not in " ".join(q.answers).lower()]
        if not found:
            continue
        m = rng.choice(found)
        numeric = m.group(0)[0].isdigit()
        pool = sorted({w for n in by_title[q.title] if n != q.paragraph for w in words[n]
                       if w[0].isdigit() == numeric and w.lower() not in text and len(w) > 1})
        if not pool:
            continue
        swapped = q.question[: m.start()] + rng.choice(pool) + q.question[m.end() :]
        out.append((swapped, q.paragraph))
    return out


def training_windows(tok, questions: list[squad.SquadQuestion], paragraphs: list[tuple[str, str]],
                     negs: list[tuple[str, int]]) -> list[tuple[F.Window, int, int]]:  # noqa: ANN001
    """Every training window with its (start, end) target positions."""
    out = []
    for q in questions:
        for w in F.windows(tok, q.question, [q.context]):
            if q.answers:
                s = q.starts[0]
                out.append((w, *F.token_targets(w, s, s + len(q.answers[0]))))
            else:
                out.append((w, 0, 0))
    for question, n in negs:
        out.extend((w, 0, 0) for w in F.windows(tok, question, [paragraphs[n][1]]))
    return out


def length_batches(items: list, batch_size: int, rng: random.Random) -> list[list]:
    """Shuffled batches of items of similar length (little padding), in random order."""
    order = list(range(len(items)))
    rng.shuffle(order)
    chunk = batch_size * 50
    batches = []
    for i in range(0, len(order), chunk):
        part = sorted(order[i : i + chunk], key=lambda j: len(items[j][0].ids))
        batches.extend(part[k : k + batch_size] for k in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return [[items[j] for j in b] for b in batches]


def predict(model, tok, questions: list[squad.SquadQuestion], batch_size: int = 64,  # noqa: ANN001
            bf16: bool = False) -> dict[str, F.SpanScore]:
    """The best span and null score of every question on its own paragraph (torch)."""
    import torch

    model.eval()
    pairs = [(q, w) for q in questions for w in F.windows(tok, q.question, [q.context])]
    pairs.sort(key=lambda p: len(p[1].ids))
    best: dict[str, F.SpanScore] = {}
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        for i in range(0, len(pairs), batch_size):
            chunk = pairs[i : i + batch_size]
            arrays = F.batch_arrays([w for _, w in chunk])
            out = model(**{k: torch.from_numpy(v) for k, v in arrays.items()})
            starts, ends = out.start_logits.float().numpy(), out.end_logits.float().numpy()
            for (q, w), s, e in zip(chunk, starts, ends, strict=True):
                best[q.id] = F.merge(best.get(q.id), F.best_span(w, s, e))
    return best


def reader_metrics(questions: list[squad.SquadQuestion], spans: dict[str, F.SpanScore]) -> dict[str, float]:
    """Official metrics with every question answered (threshold 0) and the best null threshold."""
    preds = {q.id: q.context[spans[q.id].start : spans[q.id].end] for q in questions}
    na = {q.id: spans[q.id].null - spans[q.id].score for q in questions}
    return squad.evaluate(questions, preds, na)


def main(argv: list[str] | None = None) -> None:
    """Train, evaluate on dev, save."""
    from qa.embedding import _quiet_offline, bf16_supported, model_dir
    from qa.reader import model as shipped

    p = argparse.ArgumentParser(prog="python -m qa.reader.train", description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=DATA / "train-10-articles.json")
    p.add_argument("--dev", type=Path, default=DATA / "dev-3-articles.json")
    p.add_argument("--out", type=Path, default=shipped.WEIGHTS.parent)
    p.add_argument("--epochs", type=float, default=2.0)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--max-length", type=int, default=384)
    p.add_argument("--stride", type=int, default=128)
    p.add_argument("--negatives", type=int, default=1, help="other-paragraph negatives per question (0: none)")
    p.add_argument("--perturbed", type=int, default=1, help="1: add a name-swapped unanswerable per question")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--limit", type=int, default=0, help="train on the first N questions only (smoke test)")
    p.add_argument("--dev-limit", type=int, default=0, help="evaluate on the first N dev questions only")
    args = p.parse_args(argv)

    _quiet_offline()
    import torch
    from tqdm import tqdm
    from transformers import AutoConfig, AutoModelForQuestionAnswering

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    np.random.seed(args.seed)
    bf16 = bf16_supported()

    tok = F.load_reader_tokenizer(str(model_dir() / "tokenizer.json"), args.max_length, args.stride)
    questions, paragraphs = squad.load(args.data)
    if args.limit:
        questions = questions[: args.limit]
    negs = negatives(questions, paragraphs, rng, args.negatives) if args.negatives else []
    swaps = perturbed(questions, paragraphs, rng) if args.perturbed else []
    items = training_windows(tok, questions, paragraphs, negs + swaps)
    print(f"{len(questions)} questions, {len(negs)} negatives, {len(swaps)} name-swapped, {len(items)} windows; "
          f"bf16 {bf16}", flush=True)

    config = AutoConfig.from_pretrained(str(model_dir()), local_files_only=True)
    config.attention_probs_dropout_prob = 0.0
    model = AutoModelForQuestionAnswering.from_pretrained(str(model_dir()), config=config, local_files_only=True)
    model.get_parameter(FROZEN).requires_grad_(False)
    params = [(n, q) for n, q in model.named_parameters() if q.requires_grad]
    decay = [q for n, q in params if not (n.endswith("bias") or "LayerNorm" in n)]
    no_decay = [q for n, q in params if n.endswith("bias") or "LayerNorm" in n]
    optim = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
                              lr=args.lr)
    per_epoch = math.ceil(len(items) / args.batch)
    total = max(1, int(per_epoch * args.epochs))
    warmup = max(1, total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup))))

    started = time.time()
    step, seen = 0, 0
    model.train()
    bar = tqdm(total=total, desc="training", unit="batch", dynamic_ncols=True)
    while step < total:
        for batch in length_batches(items, args.batch, rng):
            if step >= total:
                break
            arrays = F.batch_arrays([w for w, _, _ in batch])
            inputs = {k: torch.from_numpy(v) for k, v in arrays.items()}
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                out = model(**inputs, start_positions=torch.tensor([s for _, s, _ in batch]),
                            end_positions=torch.tensor([e for _, _, e in batch]))
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_([q for _, q in params], 1.0)
            optim.step()
            sched.step()
            optim.zero_grad(set_to_none=True)
            step += 1
            seen += len(batch)
            bar.set_postfix(loss=f"{out.loss.item():.3f}", windows_s=f"{seen / (time.time() - started):.1f}")
            bar.update(1)
    bar.close()
    minutes = (time.time() - started) / 60

    dev, _ = squad.load(args.dev)
    if args.dev_limit:
        dev = dev[: args.dev_limit]
    state = {k: v.detach().clone() for k, v in model.state_dict().items() if k != FROZEN}
    print("evaluating on dev (each question on its own paragraph) ...", flush=True)
    fp32 = reader_metrics(dev, predict(model, tok, dev))
    # what ships: fp16 storage
    model.load_state_dict({k: v.half().float() for k, v in state.items()}, strict=False)
    fp16 = reader_metrics(dev, predict(model, tok, dev))
    shipped.save(state, args.out)
    record = {
        "recipe": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "train_questions": len(questions), "negatives": len(negs), "name_swapped": len(swaps), "windows": len(items),
        "bf16_autocast": bf16, "minutes": round(minutes, 1),
        "dev_reader_only_fp32": {k: round(v, 2) for k, v in fp32.items()},
        "dev_reader_only_fp16": {k: round(v, 2) for k, v in fp16.items()},
    }
    (args.out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    import sys

    from qa.errors import QAError

    try:
        main()
    except QAError as exc:  # a missing or malformed data file: one line, not a traceback
        sys.stderr.write(f"qa.reader.train: error: {exc}\n")
        raise SystemExit(2) from None
