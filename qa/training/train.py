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
autocast where it pays (a CPU with AMX units, or a GPU), float32 elsewhere; attention dropout 0;
the word embeddings frozen, so the shipped file need not carry them. Seeded; 2 threads.

A run is resumable: it keeps a checkpoint (``--checkpoint``, every few minutes, on Ctrl+C and on
SIGTERM) and the same command takes it up, computing what an uninterrupted run would: bit for
bit with ``--threads 1``; with more threads the CPU kernels' rounding varies a little from run to
run (an uninterrupted run repeated varies as much), so a resumed run ends within that noise. It can
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qa.config import PROJECT_ROOT
from qa.errors import QAError
from qa.evaluation import squad
from qa.neural.reader import features as F
from qa.training.checkpoint import Checkpoint
from qa.training.data import length_batches, negatives, perturbed, training_windows
from qa.training.dev import predict, reader_metrics, rounded

ROOT = PROJECT_ROOT
FROZEN = "bert.embeddings.word_embeddings.weight"
"""Not trained and not shipped: loaded from the packaged model."""

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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The recipe and the run's options, with the data files checked."""
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
    p.add_argument(
        "--threads", type=int, default=2, help="CPU threads (1: bit-reproducible, resumed or not; 2: faster)"
    )
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
    return args


@dataclass
class TrainingData:
    """What one run trains on and measures with."""

    questions: list[squad.SquadQuestion]
    unanswerable: int
    negatives: int
    swaps: int
    items: list
    """(window, start, end) for every training window."""
    dev: list[squad.SquadQuestion]


def load_data(args: argparse.Namespace, tok, rng: random.Random) -> TrainingData:
    """The training windows (questions, negatives, name swaps) and the dev questions."""
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
    return TrainingData(questions, unanswerable, len(negs), len(swaps), items, dev)


class Run:
    """One training run: the model, its optimizer and schedule, and where it stands."""

    def __init__(self, args: argparse.Namespace, device: str, bf16: bool, batches_per_epoch: int) -> None:
        import torch
        from transformers import AutoConfig, AutoModelForQuestionAnswering

        from qa.neural.onnx import model_dir

        self.args, self.device, self.bf16 = args, device, bf16
        config = AutoConfig.from_pretrained(str(model_dir()), local_files_only=True)
        config.attention_probs_dropout_prob = 0.0
        model = AutoModelForQuestionAnswering.from_pretrained(str(model_dir()), config=config, local_files_only=True)
        model.get_parameter(FROZEN).requires_grad_(False)
        model.to(device)
        self.model = model
        params = [(n, q) for n, q in model.named_parameters() if q.requires_grad]
        self.trained = [q for _, q in params]
        decay = [q for n, q in params if not (n.endswith("bias") or "LayerNorm" in n)]
        no_decay = [q for n, q in params if n.endswith("bias") or "LayerNorm" in n]
        self.optim = torch.optim.AdamW(
            [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr
        )
        self.per_epoch = batches_per_epoch
        self.total = total = max(1, int(batches_per_epoch * args.epochs))
        warmup = max(1, total // 10)
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.optim, lambda step: min((step + 1) / warmup, max(0.0, (total - step) / max(1, total - warmup)))
        )
        self.step, self.seconds = 0, 0.0
        self.curve: list[dict] = []
        self.started = time.time()

    def resume(self, state: dict) -> None:
        """Take up a checkpoint's state."""
        import torch

        self.model.load_state_dict(state["model"], strict=False)
        self.optim.load_state_dict(state["optim"])
        self.sched.load_state_dict(state["sched"])
        torch.set_rng_state(state["torch_rng"])
        if self.device == "cuda" and state.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(state["cuda_rng"])
        self.step, self.seconds, self.curve = state["step"], state["seconds"], state["curve"]

    def snapshot(self, recipe: dict) -> dict:
        """Everything a resumed run needs to compute what an uninterrupted one would."""
        import torch

        return {
            "recipe": recipe,
            "step": self.step,
            "seconds": self.minutes() * 60,
            "curve": self.curve,
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items() if k != FROZEN},
            "optim": self.optim.state_dict(),
            "sched": self.sched.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state() if self.device == "cuda" else None,
        }

    def minutes(self) -> float:
        """Training time so far, this run and the ones it takes up."""
        return (self.seconds + time.time() - self.started) / 60

    def batches(self, items: list):
        """The batches still to train on, in the order an uninterrupted run takes them: an
        epoch's order depends on the seed and the epoch only."""
        while self.step < self.total:
            epoch, skip = divmod(self.step, self.per_epoch)
            order = length_batches(items, self.args.batch, random.Random(self.args.seed * 1_000_003 + epoch))
            for batch in order[skip:]:
                if self.step >= self.total:
                    return
                yield batch

    def train_on(self, batch: list) -> float:
        """One optimizer step on ``batch``; returns its loss."""
        import torch

        device = self.device
        arrays = F.batch_arrays([w for w, _, _ in batch])
        inputs = {k: torch.from_numpy(v).to(device) for k, v in arrays.items()}
        with torch.autocast(device, dtype=torch.bfloat16, enabled=self.bf16):
            out = self.model(
                **inputs,
                start_positions=torch.tensor([s for _, s, _ in batch], device=device),
                end_positions=torch.tensor([e for _, _, e in batch], device=device),
            )
        out.loss.backward()
        torch.nn.utils.clip_grad_norm_(self.trained, 1.0)
        self.optim.step()
        self.sched.step()
        self.optim.zero_grad(set_to_none=True)
        self.step += 1
        return float(out.loss.item())

    def measure(self, tok, dev: list[squad.SquadQuestion]) -> dict:
        """A learning-curve point: dev reader-only metrics now."""
        point = {
            "batches": self.step,
            "share": round(self.step / self.total, 3),
            **rounded(reader_metrics(dev, predict(self.model, tok, dev, bf16=self.bf16, device=self.device))),
        }
        self.curve.append(point)
        self.model.train()
        return point


def train(run: Run, data: TrainingData, tok, ckpt: Checkpoint, recipe: dict) -> bool:
    """Train until the run is done (True), or stopped by a signal or ``--stop-after`` (False)
    with a checkpoint saved; checkpoints every ``--checkpoint-minutes`` on the way."""
    from tqdm import tqdm

    args = run.args
    curve_at = sorted({max(1, round(run.total * float(x))) for x in args.curve.split(",") if x.strip()} - {run.total})
    stopping: list[int] = []

    def stop(signum, frame):  # Ctrl+C, or SIGTERM (a session or machine shutting down)
        stopping.append(signum)  # acted on between batches, where the state is whole

    handlers = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    saved = time.time()
    run.model.train()
    bar = tqdm(total=run.total, initial=run.step, desc="training", unit="batch", dynamic_ncols=True)
    try:
        for batch in run.batches(data.items):
            if stopping:
                break
            loss = run.train_on(batch)
            bar.set_postfix(loss=f"{loss:.3f}", windows_s=f"{(bar.format_dict['rate'] or 0) * args.batch:.1f}")
            bar.update(1)
            if run.step in curve_at:
                point = run.measure(tok, data.dev)
                bar.write(
                    f"dev after {point['share']:.0%}: HasAns F1 {point['HasAns_f1']:.1f}, "
                    f"best F1 {point['best_f1']:.1f}, no-answer AUC {point['noans_auc']:.3f}"
                )
            if run.step < run.total and (
                time.time() - saved > args.checkpoint_minutes * 60 or run.step == args.stop_after or stopping
            ):
                ckpt.save(run.snapshot(recipe))
                saved = time.time()
            if run.step == args.stop_after:
                bar.close()
                print(f"stopped after batch {run.step}; the checkpoint is in {ckpt.path}", flush=True)
                return False
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    bar.close()
    if stopping and run.step < run.total:
        print(
            f"\ninterrupted at batch {run.step} of {run.total}; `make reader` (the same options) takes it up "
            f"from {ckpt.path}",
            file=sys.stderr,
            flush=True,
        )
        raise SystemExit(130)
    return True


def finish(run: Run, data: TrainingData, tok) -> dict:
    """Measure dev in fp32 and as shipped (fp16), write the weights and ``training.json``."""
    import torch

    from qa.neural.reader import model as shipped

    args, model, device = run.args, run.model, run.device
    minutes = run.minutes()
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if k != FROZEN}
    print("evaluating on dev (each question on its own paragraph) ...", flush=True)
    fp32 = reader_metrics(data.dev, predict(model, tok, data.dev, device=device))
    model.load_state_dict({k: v.half().float() for k, v in state.items()}, strict=False)
    fp16 = reader_metrics(data.dev, predict(model, tok, data.dev, device=device))
    shipped.save(state, args.out)
    record = {
        "recipe": {
            k: (str(v) if isinstance(v, Path) else v)
            for k, v in vars(args).items()
            if k not in ("stop_after", "fresh", "checkpoint")
        },
        "train_questions": len(data.questions),
        "train_unanswerable": data.unanswerable,
        "negatives": data.negatives,
        "name_swapped": data.swaps,
        "windows": len(data.items),
        "batches": run.total,
        "device": device,
        "device_name": torch.cuda.get_device_name() if device == "cuda" else platform.processor() or platform.machine(),
        "bf16_autocast": run.bf16,
        "minutes": round(minutes, 1),
        "learning_curve": run.curve,
        "dev_reader_only_fp32": rounded(fp32),
        "dev_reader_only_fp16": rounded(fp16),
    }
    (args.out / "training.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def main(argv: list[str] | None = None) -> None:
    """Train (or take up an interrupted run), evaluate on dev, save."""
    from qa.neural.embedder import bf16_supported
    from qa.neural.onnx import model_dir, quiet_offline

    args = parse_args(argv)
    quiet_offline()
    import torch

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
    data = load_data(args, tok, rng)
    print(
        f"{len(data.questions)} questions ({data.unanswerable} unanswerable), {data.negatives} negatives, "
        f"{data.swaps} name-swapped, {len(data.items)} windows; device {device}, bf16 {bf16}",
        flush=True,
    )
    run = Run(args, device, bf16, math.ceil(len(data.items) / args.batch))
    if state is not None:
        run.resume(state)
        print(f"taking up the checkpoint {ckpt.path} at batch {run.step} of {run.total}", flush=True)
    if not train(run, data, tok, ckpt, recipe):
        return
    record = finish(run, data, tok)
    ckpt.remove()
    print(json.dumps(record, indent=2))


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
