"""Measuring a reader being trained on SQuAD dev: each question read against its own paragraph."""

from __future__ import annotations

from qa.evaluation import squad
from qa.neural.reader import features as F


def predict(model, tok, questions: list[squad.SquadQuestion], batch_size: int = 64,
            bf16: bool = False, device: str = "cpu") -> dict[str, F.SpanScore]:
    """The best span and null score of every question on its own paragraph (torch)."""
    import torch

    model.eval()
    pairs = [(q, w) for q in questions for w in F.windows(tok, q.question, [q.context])]
    pairs.sort(key=lambda p: len(p[1].ids))
    best: dict[str, F.SpanScore] = {}
    with torch.inference_mode(), torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
        for i in range(0, len(pairs), batch_size):
            chunk = pairs[i : i + batch_size]
            arrays = F.batch_arrays([w for _, w in chunk])
            out = model(**{k: torch.from_numpy(v).to(device) for k, v in arrays.items()})
            starts, ends = out.start_logits.float().cpu().numpy(), out.end_logits.float().cpu().numpy()
            for (q, w), s, e in zip(chunk, starts, ends, strict=True):
                best[q.id] = F.merge(best.get(q.id), F.best_span(w, s, e))
    return best


def reader_metrics(questions: list[squad.SquadQuestion], spans: dict[str, F.SpanScore]) -> dict[str, float]:
    """Official metrics with every question answered (threshold 0) and the best null threshold."""
    preds = {q.id: q.context[spans[q.id].start : spans[q.id].end] for q in questions}
    na = {q.id: spans[q.id].null - spans[q.id].score for q in questions}
    return squad.evaluate(questions, preds, na)


def rounded(metrics: dict) -> dict:
    """Metrics as ``training.json`` keeps them."""
    return {k: round(v, 4 if k == "noans_auc" else 2) for k, v in metrics.items()}
