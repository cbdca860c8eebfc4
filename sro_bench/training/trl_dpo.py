"""Offline DPO for causal leaders through trl's DPOTrainer: a training loop beside the game (sro_bench.training.loops).

The pairs are tokenised in the leader's own causal layout (what ``sequence_logprobs`` scores), so
trl trains exactly the sequences the rest of the harness reads. trl 1.16's ``sigmoid`` loss has no
label smoothing, so conservative DPO is written in its vocabulary: with d the reward margin,
-(1-e) log s(bd) - e log s(-bd) = -log s(bd) + e*b*d, and trl's ``robust`` loss is
-log s(bd) - e*b*d / (1-2e); hence cDPO = (2-2e) * sigmoid - (1-2e) * robust, exactly.
"""

from __future__ import annotations

import contextlib
import json
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from ..data import Dataset
from ..leaders.base import Leader
from ..objectives.config import DPOConfig as DPOSettings
from ..util.distributed import world
from ..util.files import atomic_write_text
from .config import GameConfig
from .game import GameResult, OnStep, total_steps

HISTORY = "sro_bench_history.json"


def conservative_dpo_losses(label_smoothing: float) -> tuple[list[str], list[float]]:
    """trl ``loss_type`` and ``loss_weights`` that make conservative DPO with smoothing ``label_smoothing``."""
    if label_smoothing == 0:
        return ["sigmoid"], [1.0]
    return ["sigmoid", "robust"], [2 - 2 * label_smoothing, -(1 - 2 * label_smoothing)]


def chosen_references(data: Dataset, seed: int) -> list[str]:
    """One human rewrite per input (a seeded draw): the chosen side of its pair."""
    rng = np.random.default_rng([seed, 0xD0])
    return [refs[rng.integers(len(refs))] for refs in data.references]


def preference_rows(leader: Leader, data: Dataset, seed: int) -> dict[str, list[list[int]]]:
    """trl's tokenised preference columns: chosen = a human rewrite, rejected = the toxic input itself."""
    prompts, chosen_ids = leader.causal_layout(data.inputs, chosen_references(data, seed))
    _, rejected_ids = leader.causal_layout(data.inputs, data.inputs)
    return {"prompt_ids": prompts, "chosen_ids": chosen_ids, "rejected_ids": rejected_ids}


class TrlDPOGame:
    """The ``dpo`` objective played by trl's DPOTrainer: same pairs, beta, smoothing, batch and schedule."""

    def __init__(self, leader: Leader, config: DPOSettings, data: Dataset, game: GameConfig, seed: int = 0):
        self.leader, self.objective_config, self.data, self.config, self.seed = leader, config, data, game, seed
        self.step = 0
        self.history: list[dict] = []
        self.timings: dict[str, float] = {}
        self.rank, self.processes = world()
        self._resume_from: str | None = None

    @property
    def total_steps(self) -> int:
        return total_steps(self.config, len(self.data), self.processes)

    def load_checkpoint(self, path: Path) -> bool:
        """Continue from the newest trl checkpoint under ``path`` (trl's checkpoint-N folders); True when there is one."""
        found = sorted(
            (int(m.group(1)), p) for p in Path(path).glob("checkpoint-*")
            if (m := re.fullmatch(r"checkpoint-(\d+)", p.name)) and (p / HISTORY).exists()
        )
        if not found:
            return False
        self.step, path = found[-1]
        saved = json.loads((path / HISTORY).read_text())
        self.history, self.timings = saved["history"], saved.get("timings", {})
        self._resume_from = str(path)
        return True

    def _trainer(self, output_dir: Path, checkpoint_every: int, callbacks: list):
        from datasets import Dataset as HFDataset
        from transformers import PrinterCallback
        from trl import DPOConfig, DPOTrainer
        from trl.trainer.dpo_trainer import DataCollatorForPreference

        class LeaderLayoutDPOTrainer(DPOTrainer):
            def _prepare_dataset(self, dataset, processing_class, args, dataset_name):
                return dataset  # already tokenised in the leader's layout

        cfg, leader = self.config, self.leader
        loss_type, loss_weights = conservative_dpo_losses(self.objective_config.label_smoothing)
        args = DPOConfig(
            output_dir=str(output_dir),
            per_device_train_batch_size=cfg.batch_size,
            max_steps=self.total_steps,
            learning_rate=cfg.lr,
            weight_decay=cfg.weight_decay,
            lr_scheduler_type="constant",
            warmup_steps=0,
            max_grad_norm=cfg.max_grad_norm or 0.0,
            optim="adamw_torch_fused",
            beta=self.objective_config.beta,
            loss_type=loss_type,
            loss_weights=loss_weights,
            label_smoothing=self.objective_config.label_smoothing,
            max_length=None,
            disable_dropout=not cfg.train_mode_sampling,
            activation_checkpointing=False,
            bf16=leader.precision == "bf16",
            fp16=leader.precision == "fp16",
            use_cpu=leader.device.type == "cpu",
            seed=self.seed,
            data_seed=self.seed,
            logging_steps=1,
            save_strategy="steps" if checkpoint_every else "no",
            save_steps=checkpoint_every or 1,
            save_total_limit=1,
            report_to=[],
            disable_tqdm=True,
            dataloader_num_workers=0,
        )
        trainer = LeaderLayoutDPOTrainer(
            model=leader.model,
            ref_model=leader.reference_model(),
            args=args,
            train_dataset=HFDataset.from_dict(preference_rows(leader, self.data, self.seed)),
            processing_class=leader.tokenizer,
            data_collator=DataCollatorForPreference(pad_token_id=leader.pad_token_id),
            callbacks=callbacks,
        )
        trainer.remove_callback(PrinterCallback)  # the harness shows its own progress bar
        return trainer

    def play(self, checkpoint_dir: Path | None = None, on_step: OnStep | None = None,
             stop_after: int | None = None) -> GameResult:
        from transformers import TrainerCallback

        game = self
        total = self.total_steps
        resumed_from = self.step or None
        beta = self.objective_config.beta

        class Relay(TrainerCallback):
            """trl's per-step logs into the harness's history, progress bar and checkpoints."""

            def __init__(self):
                self.last = time.perf_counter()

            def on_log(self, args, state, control, logs=None, **kwargs):
                if not logs or "loss" not in logs:
                    return
                now = time.perf_counter()
                entry = {
                    "step": state.global_step,
                    "loss": logs["loss"],
                    "loss_pass": logs["loss"],
                    "reward_accuracy": logs.get("rewards/accuracies"),
                    "log_ratio": logs["rewards/chosen"] / beta if "rewards/chosen" in logs else None,
                    "seconds": round(now - self.last, 4),
                }
                self.last = now
                game.step = state.global_step
                game.history.append(entry)
                if on_step is not None:
                    on_step(entry, total)

            def on_step_end(self, args, state, control, **kwargs):
                if stop_after is not None and state.global_step >= stop_after:
                    control.should_save = checkpoint_dir is not None
                    control.should_training_stop = True

            def on_save(self, args, state, control, **kwargs):
                path = Path(args.output_dir) / f"checkpoint-{state.global_step}"
                if path.is_dir():
                    atomic_write_text(path / HISTORY, json.dumps({"history": game.history, "timings": game.timings}))

        start = time.perf_counter()
        with contextlib.ExitStack() as stack:
            if checkpoint_dir is None:
                output_dir, every = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sro-bench-trl-"))), 0
            else:
                output_dir, every = Path(checkpoint_dir), self.config.checkpoint_every or 0
            trainer = self._trainer(output_dir, every, [Relay()])
            trainer.train(resume_from_checkpoint=self._resume_from)
        self.leader.model.eval()
        self.timings["train"] = self.timings.get("train", 0.0) + time.perf_counter() - start
        return GameResult(self.step, self.history, {k: round(v, 3) for k, v in self.timings.items()}, resumed_from)
