"""Fine-tune the packaged all-MiniLM-L6-v2 as an extractive reader on SQuAD 2.0 (``make reader``).

    python -m qa.training [--data FILE] [--dev FILE] [--negatives R] [--device auto|cpu|cuda] ...

The recipe (see MODEL_CARD.md beside the weights): the BERT encoder of the packaged model with a
new start/end head, trained on every question of SQuAD 2.0 train on its own paragraph (the real
unanswerable ones included), plus other-paragraph negatives that look like what the retriever
hands the reader at question time: a paragraph of the same article that does not contain the
answer, picked among the three sharing the most words with the question (``--negatives``: how
many per question on average); optionally a name-swapped unanswerable copy of each question
(``--perturbed``). [CLS] is the target when a window does not answer. Windows of 384 word pieces,
stride 128; batches of 32 windows of similar length; AdamW, linear warm-up and decay; bfloat16
autocast where the CPU (or GPU) has it; attention dropout 0; the word embeddings frozen, so the
shipped file need not carry them. Seeded and deterministic on one machine; 2 threads.

A run is resumable: it keeps a checkpoint (``--checkpoint``, every few minutes, on Ctrl+C and on
SIGTERM) and the same command takes it up, computing what an uninterrupted run would. It can
measure dev part-way (``--curve``: a learning curve). At the end it evaluates on the dev file
(each question on its own paragraph), writes the weights (fp16, without the word embeddings) and
``training.json`` with the recipe, the time and the dev metrics, and removes the checkpoint.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import random
import signal
import sys
import time
from pathlib import Path

import numpy as np

from qa.config import PROJECT_ROOT
from qa.errors import QAError
from qa.evaluation import squad
from qa.neural.reader import features as F
from qa.training.checkpoint import Checkpoint
from qa.training.data import length_batches, negatives, perturbed, training_windows

ROOT = PROJECT_ROOT
FROZEN = "bert.embeddings.word_embeddings.weight"
"""Not trained and not shipped: loaded from the packaged model."""

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


def recipe_of(args: argparse.Namespace) -> dict:
    """What decides the trained weights (a checkpoint is taken up only under the same recipe)."""
    keys = ("epochs", "lr", "batch", "max_length", "stride", "negatives", "perturbed", "seed", "limit")
    data = Path(args.data).resolve()
    stat = data.stat()
    return {"data": str(data), "data_bytes": stat.st_size, **{k: getattr(args, k) for k in keys}}


def pick_device(choice: str) -> str:
    """``auto``: CUDA when torch sees a GPU, else the CPU."""
    import torch

    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cuda" and not torch.cuda.is_available():
        raise QAError("--device cuda: torch sees no GPU here; use --device cpu or auto")
    return choice


def main(argv: list[str] | None = None) -> None:
    """Train (or take up an interrupted run), evaluate on dev, save."""
    from qa.neural.embedder import bf16_supported
    from qa.neural.onnx import model_dir, quiet_offline
    from qa.neural.reader import model as shipped

    data = squad.datasets_dir()
    p = argparse.ArgumentParser(prog="python -m qa.training", description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=data / "train-442-articles.json")
    p.add_argument("--dev", type=Path, default=data / "dev-3-articles.json")
    p.add_argument("--out", type=Path, default=shipped.WEIGHTS.parent)
    p.add_argument("--epochs", type=float, default=1.0)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--max-length", type=int, default=384)
    p.add_argument("--stride", type=int, default=128)
    p.add_argument(
        "--negatives",
        type=float,
        default=0.5,
        help="other-paragraph negatives per question, on average (0: none; 0.5: one for every other)",
    )
    p.add_argument("--perturbed", type=int, default=0, help="1: add a name-swapped unanswerable per question")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--limit", type=int, default=0, help="train on the first N questions only (smoke test)")
    p.add_argument("--dev-limit", type=int, default=0, help="evaluate on the first N dev questions only")
    p.add_argument(
        "--curve",
        default="0.25,0.5,0.75",
        help="also measure dev (reader-only) after these shares of the run: a learning curve ('' for none)",
    )
    p.add_argument(
        "--checkpoint",
        type=Path,
        default=ROOT / "build" / "reader-train",
        help="folder of the resumable checkpoint (removed once the weights are written)",
    )
    p.add_argument("--checkpoint-minutes", type=float, default=5.0)
    p.add_argument("--fresh", action="store_true", help="ignore a checkpoint and start over")
    p.add_argument("--stop-after", type=int, default=0, help=argparse.SUPPRESS)  # tests: checkpoint, then stop
    args = p.parse_args(argv)
    if args.negatives < 0 or args.epochs <= 0 or args.batch < 1:
        raise QAError("--negatives must be >= 0, --epochs > 0 and --batch >= 1")
    for path, flag in ((args.data, "--data"), (args.dev, "--dev")):
        if not path.is_file():
            raise QAError(
                f"SQuAD file {path} does not exist; get SQuAD 2.0 ({squad.SOURCE}) and pass {flag} FILE, "
                "or set QA_DATASETS to the folder holding squad2/"
            )

    quiet_offline()
    import torch
    from tqdm import tqdm
    from transformers import AutoConfig, AutoModelForQuestionAnswering

    device = pick_device(args.device)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = random.Random(args.seed)
    np.random.seed(args.seed)
    bf16 = bf16_supported() if device == "cpu" else torch.cuda.is_bf16_supported()
    recipe = recipe_of(args)
    ckpt = Checkpoint(args.checkpoint)
    if args.fresh:
        ckpt.remove()
    state = ckpt.load(recipe)

    tok = F.load_reader_tokenizer(str(model_dir() / "tokenizer.json"), args.max_length, args.stride)
    questions, paragraphs = squad.load(args.data)
    if args.limit:
        questions = questions[: args.limit]
    dev, _ = squad.load(args.dev)
    if args.dev_limit:
        dev = dev[: args.dev_limit]
    negs = negatives(questions, paragraphs, rng, args.negatives) if args.negatives else []
    swaps = perturbed(questions, paragraphs, rng) if args.perturbed else []
    items = training_windows(tok, questions, paragraphs, negs + swaps)
    unanswerable = sum(1 for q in questions if not q.answers)
    print(
        f"{len(questions)} questions ({unanswerable} unanswerable), {len(negs)} negatives, {len(swaps)} name-swapped, "
        f"{len(items)} windows; device {device}, bf16 {bf16}",
        flush=True,
    )

    config = AutoConfig.from_pretrained(str(model_dir()), local_files_only=True)
    config.attention_probs_dropout_prob = 0.0
    model = AutoModelForQuestionAnswering.from_pretrained(str(model_dir()), config=config, local_files_only=True)
    model.get_parameter(FROZEN).requires_grad_(False)
    model.to(device)
    params = [(n, q) for n, q in model.named_parameters() if q.requires_grad]
    decay = [q for n, q in params if not (n.endswith("bias") or "LayerNorm" in n)]
    no_decay = [q for n, q in params if n.endswith("bias") or "LayerNorm" in n]
    optim = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr
    )
    per_epoch = math.ceil(len(items) / args.batch)
    total = max(1, int(per_epoch * args.epochs))
    warmup = max(1, total // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
    )
    curve_at = sorted({max(1, round(total * float(x))) for x in args.curve.split(",") if x.strip()} - {total})

    step, seconds, curve = 0, 0.0, []
    if state is not None:
        model.load_state_dict(state["model"], strict=False)
        optim.load_state_dict(state["optim"])
        sched.load_state_dict(state["sched"])
        torch.set_rng_state(state["torch_rng"])
        if device == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"])
        step, seconds, curve = state["step"], state["seconds"], state["curve"]
        print(f"taking up the checkpoint {ckpt.path} at batch {step} of {total}", flush=True)

    def snapshot() -> dict:
        return {
            "recipe": recipe,
            "step": step,
            "seconds": seconds + time.time() - started,
            "curve": curve,
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items() if k != FROZEN},
            "optim": optim.state_dict(),
            "sched": sched.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state() if device == "cuda" else None,
        }

    stopping: list[int] = []

    def stop(signum, frame):  # Ctrl+C, or SIGTERM (a session or machine shutting down)
        stopping.append(signum)  # acted on between batches, where the state is whole

    handlers = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    started = saved = time.time()
    model.train()
    bar = tqdm(total=total, initial=step, desc="training", unit="batch", dynamic_ncols=True)
    try:
        while step < total and not stopping:
            epoch, skip = divmod(step, per_epoch)
            # the order of an epoch's batches depends on the seed and the epoch only
            for batch in length_batches(items, args.batch, random.Random(args.seed * 1_000_003 + epoch))[skip:]:
                if step >= total or stopping:
                    break
                arrays = F.batch_arrays([w for w, _, _ in batch])
                inputs = {k: torch.from_numpy(v).to(device) for k, v in arrays.items()}
                with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
                    out = model(
                        **inputs,
                        start_positions=torch.tensor([s for _, s, _ in batch], device=device),
                        end_positions=torch.tensor([e for _, _, e in batch], device=device),
                    )
                out.loss.backward()
                torch.nn.utils.clip_grad_norm_([q for _, q in params], 1.0)
                optim.step()
                sched.step()
                optim.zero_grad(set_to_none=True)
                step += 1
                bar.set_postfix(
                    loss=f"{out.loss.item():.3f}", windows_s=f"{(bar.format_dict['rate'] or 0) * args.batch:.1f}"
                )
                bar.update(1)
                if step in curve_at:
                    point = {
                        "batches": step,
                        "share": round(step / total, 3),
                        **_rounded(reader_metrics(dev, predict(model, tok, dev, bf16=bf16, device=device))),
                    }
                    curve.append(point)
                    bar.write(
                        f"dev after {point['share']:.0%}: HasAns F1 {point['HasAns_f1']:.1f}, "
                        f"best F1 {point['best_f1']:.1f}, no-answer AUC {point['noans_auc']:.3f}"
                    )
                    model.train()
                if step < total and (
                    time.time() - saved > args.checkpoint_minutes * 60 or step == args.stop_after or stopping
                ):
                    ckpt.save(snapshot())
                    saved = time.time()
                if step == args.stop_after:
                    bar.close()
                    print(f"stopped after batch {step}; the checkpoint is in {ckpt.path}", flush=True)
                    return
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    if stopping and step < total:
        bar.close()
        print(
            f"\ninterrupted at batch {step} of {total}; `make reader` (the same options) takes it up from {ckpt.path}",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(130)
    bar.close()
    minutes = (seconds + time.time() - started) / 60

    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if k != FROZEN}
    print("evaluating on dev (each question on its own paragraph) ...", flush=True)
    fp32 = reader_metrics(dev, predict(model, tok, dev, device=device))
    # what ships: fp16 storage
    model.load_state_dict({k: v.half().float() for k, v in state.items()}, strict=False)
    fp16 = reader_metrics(dev, predict(model, tok, dev, device=device))
    shipped.save(state, args.out)
    record = {
        "recipe": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k not in ("stop_after", "fresh", "checkpoint")
        },
        "train_questions": len(questions),
        "train_unanswerable": unanswerable,
        "negatives": len(negs),
        "name_swapped": len(swaps),
        "windows": len(items),
        "batches": total,
        "device": device,
        "device_name": torch.cuda.get_device_name() if device == "cuda" else platform.processor() or platform.machine(),
        "bf16_autocast": bf16,
        "minutes": round(minutes, 1),
        "learning_curve": curve,
        "dev_reader_only_fp32": _rounded(fp32),
        "dev_reader_only_fp16": _rounded(fp16),
    }
    (args.out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    ckpt.remove()
    print(json.dumps(record, indent=2))


def _rounded(metrics: dict) -> dict:
    return {k: round(v, 4 if k == "noans_auc" else 2) for k, v in metrics.items()}


def run(argv: list[str] | None = None) -> int:
    """``python -m qa.training``: train, with a missing or malformed data file or a checkpoint of
    another recipe reported in one line (exit status 2)."""
    try:
        main(argv)
    except QAError as exc:
        sys.stderr.write(f"qa.training: error: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(run())
