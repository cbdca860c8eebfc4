"""The game: the leader generates, the follower screens, the objective updates the leader.

Batched: B inputs per step, k samples each, and the chosen (y) and rejected (x) sides scored in one
padded forward pass. Every random draw of step t is seeded from (seed, t), so a run resumed from a
checkpoint replays exactly the draws of an uninterrupted one.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from ..data import Dataset
from ..errors import UserError
from ..followers.base import Follower
from ..followers.objections import masked_texts, objectionable_words
from ..leaders.base import Leader, Sample
from ..objectives.base import LossTerms, Objective
from ..util.distributed import world
from ..util.progress import timed
from . import meter
from .checkpoints import load_checkpoint, save_checkpoint
from .config import GameConfig
from .decoding import token_budgets
from .rewards import KEPT_MEASURES

OnStep = Callable[[dict, int], None]  # called after every update with (history entry, total steps)


@dataclass
class GameResult:
    steps: int
    history: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    resumed_from: int | None = None


def step_seed(seed: int, step: int, stream: int = 0) -> int:
    """A seed for one step's draws, independent of everything drawn before it."""
    return int(np.random.SeedSequence([seed, step, stream]).generate_state(1)[0])


def total_steps(config: GameConfig, n_inputs: int, processes: int = 1) -> int:
    per_epoch = math.ceil(n_inputs / (config.batch_size * processes))
    steps = math.ceil(config.epochs * per_epoch)
    return steps if config.max_steps is None else min(steps, config.max_steps)


def batch_indices(step: int, n_inputs: int, batch_size: int, seed: int) -> np.ndarray:
    """The inputs of one step: epoch-wise seeded permutations, cut into consecutive batches."""
    per_epoch = math.ceil(n_inputs / batch_size)
    epoch, position = divmod(step, per_epoch)
    order = np.random.default_rng([seed, epoch]).permutation(n_inputs)
    return order[position * batch_size : (position + 1) * batch_size]


def screen(follower: Follower, inputs: Sequence[str], samples: Sequence[Sample], config: GameConfig) -> tuple[np.ndarray, np.ndarray]:
    """(the follower's own verdicts, the game's verdicts): 1 fails.

    The game fails what the follower cannot see through: an empty or too-short rewrite (a screener
    passes the empty string), a rewrite padded far past its input or looping (extra benign words dilute
    an l2-normalised toxic feature until it passes), and, with ``unended="fail"``, a sample cut by the budget.
    """
    texts = [s.text for s in samples]
    screener = np.asarray(follower.verdicts(texts), dtype=np.int8)
    sample_words = [meter.words(t) for t in texts]
    input_words = [meter.words(x) for x in inputs]
    n, m = np.array([len(w) for w in sample_words]), np.array([len(w) for w in input_words])
    degenerate = (n == 0) | (n < config.min_length_ratio * m)
    if config.max_length_ratio:
        degenerate |= n > config.max_length_ratio * m + 2
    if config.fail_repeats:
        degenerate |= np.array([meter.repeated_positions(s) > meter.repeated_positions(x)
                                for s, x in zip(sample_words, input_words)], dtype=bool)
    if config.unended == "fail":
        degenerate |= np.array([not s.ended for s in samples], dtype=bool)
    return screener, np.where(degenerate, 1, screener).astype(np.int8)


def make_optimizer(params: list[torch.nn.Parameter], lr: float, weight_decay: float) -> torch.optim.AdamW:
    """AdamW, fused where torch has a fused kernel for the device (several times faster on CPU too)."""
    fused = all(p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, fused=fused or None)


class Game:
    """One training run of a leader against a follower under an objective."""

    def __init__(
        self,
        leader: Leader,
        follower: Follower | None,
        objective: Objective,
        data: Dataset,
        config: GameConfig,
        seed: int = 0,
        judge: Callable[[list[str]], np.ndarray] | None = None,
        lexicon: frozenset[str] | None = None,
    ):
        """``judge`` (texts -> 1 where toxic) is an independent classifier watched beside the follower,
        never trained against; ``lexicon`` the known words for the meter's non-word rate."""
        if objective.source == "samples" and follower is None:
            raise ValueError(f"objective {objective.name!r} needs a follower")
        if objective.source == "pairs" and not data.has_references:
            raise ValueError(f"objective {objective.name!r} needs a dataset with references, got {data.name!r}")
        self.leader, self.follower, self.objective = leader, follower, objective
        self.data, self.config, self.seed = data, config, seed
        self.judge, self.lexicon = judge, lexicon
        k = config.samples_per_input if objective.source == "samples" else 1
        least = objective.min_group_size
        if k < least:
            raise ValueError(f"objective {objective.name!r} needs at least {least} samples per input, got {k}")
        self._group_size = k
        for wants, option in ((config.guided_samples, "--guided-samples"), (config.decode == "infill", "--decode infill")):
            if objective.source == "samples" and wants and leader.infill_token is None:
                raise UserError(f"{option}: leader {type(leader).__name__} has no infill token to fill masked "
                                "spans with (the default minilm leader has)")
        self._rejected_rows = lambda fails: objective.rejected_rows(fails, group_size=k)
        if config.freeze_embeddings:
            leader.freeze_embeddings()
        self.optimizer = make_optimizer(leader.trainable_parameters(), config.lr, config.weight_decay)
        # fp16 needs loss scaling; for fp32 and bf16 the scaler is disabled and passes calls through.
        self.scaler = leader.grad_scaler()
        self.history: list[dict] = []
        self.step = 0
        self.timings: dict[str, float] = {}
        self.rank, self.processes = world()
        self._ref_rejected: dict[str, float] = {}  # the reference is frozen, so l_ref(x|c) is computed once per (c, x)

    @property
    def total_steps(self) -> int:
        return total_steps(self.config, len(self.data), self.processes)

    def _step_inputs(self, step: int) -> np.ndarray:
        # Under data parallelism every process takes its own slice of one global batch.
        b = self.config.batch_size
        global_batch = batch_indices(step, len(self.data), b * self.processes, self.seed)
        return global_batch[self.rank * b : (self.rank + 1) * b]

    def _seed_for(self, step: int, stream: int) -> int:
        """Step-local seeds: one stream per purpose, and per process under data parallelism."""
        return step_seed(self.seed, step, stream + 16 * self.rank)

    def _sync_gradients(self) -> None:
        if self.processes == 1:
            return
        import torch.distributed as dist

        for p in self.leader.trainable_parameters():
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= self.processes

    # --- one step ------------------------------------------------------------------------------

    def _timed(self, name: str):
        return timed(self.timings, name)

    def _autocast(self):
        return self.leader.autocast()

    def _masked(self, inputs: list[str], step: int) -> list[str]:
        """The inputs with the words the follower objects to masked (what an infilling leader fills)."""
        with self._timed("guide"):
            self.follower.reseed(self._seed_for(step, 3))
            return masked_texts(inputs, objectionable_words(self.follower, inputs), self.leader.infill_token)

    def _targets(self, inputs: list[str], rng: np.random.Generator, step: int
                 ) -> tuple[list[str], list[str], list, np.ndarray, dict]:
        """(inputs repeated per sample, what the leader was conditioned on per sample, chosen targets,
        raw verdicts: 1 fails, meter figures)."""
        cfg = self.config
        if self.objective.source == "pairs":
            refs = [self.data.references[i] for i in self._current]
            chosen = [r[rng.integers(len(r))] for r in refs]
            return inputs, inputs, chosen, np.zeros(len(inputs), dtype=np.int8), {}
        conditions = self._masked(inputs, step) if cfg.decode == "infill" else inputs
        model = self.leader.model
        model.train(cfg.train_mode_sampling)
        torch.manual_seed(self._seed_for(step, 1))
        own, guided = cfg.samples_per_input - cfg.guided_samples, cfg.guided_samples
        budgets = token_budgets(self.leader, inputs, cfg)
        with self._timed("generate"):
            # A leader written before temperatures existed is still called as it expects at temperature 1.
            extra = {} if cfg.temperature == 1.0 else {"temperature": cfg.temperature}
            samples = self.leader.sample(conditions, num_return_sequences=own, max_new_tokens=budgets, **extra) if own else []
        if guided:
            masked = self._masked(inputs, step)
            with self._timed("generate"):
                fills = self.leader.sample(masked, num_return_sequences=guided, max_new_tokens=budgets, **extra)
            # each input's group: its own samples, then its guided ones (scored as rewrites of the input itself)
            samples = [s for i in range(len(inputs))
                       for s in (*samples[i * own:(i + 1) * own], *fills[i * guided:(i + 1) * guided])]
        model.eval()
        repeated = [x for x in inputs for _ in range(cfg.samples_per_input)]
        conditioned = [c for c in conditions for _ in range(cfg.samples_per_input)]
        with self._timed("screen"):
            self.follower.reseed(self._seed_for(step, 2))
            screener, verdicts = screen(self.follower, repeated, samples, cfg)
        texts = [s.text for s in samples]
        judge = None
        if self.judge is not None:
            with self._timed("judge"):
                judge = np.asarray(self.judge(texts), dtype=np.int8)
        figures = meter.sample_figures(
            repeated, texts, ended=np.array([s.ended for s in samples]), screener_fails=screener,
            judge_fails=judge, lexicon=self.lexicon,
        )
        return repeated, conditioned, samples, verdicts, figures

    def _reference(self, cs: list[str], ys: list, rejected: list[tuple[str, str]], shifted: bool):
        """(l_ref(y|c) per sample, l_ref(x|c) per rejected row (c, x), l_ref(y|y) per sample or None), c
        what the leader was conditioned on (the input x, or x masked). l_ref(x|c) is cached per row and
        the missing ones are scored in the same call as y, so the reference encodes each c once.
        l_ref(y|y) is scored, in the same call, only for objectives that use it."""
        missing = sorted({row for row in rejected if _cache_key(*row) not in self._ref_rejected})
        selves = [y.text if isinstance(y, Sample) else str(y) for y in ys] if self.objective.uses_fluency else []
        with torch.no_grad(), self.leader.reference(), self._autocast():
            values = self.leader.sequence_logprobs(cs + [c for c, _ in missing] + selves,
                                                   ys + [x for _, x in missing] + ys[: len(selves)],
                                                   shifted=shifted).float()
        n, m = len(ys), len(missing)
        self._ref_rejected.update(zip((_cache_key(*row) for row in missing), values[n : n + m].cpu().tolist()))
        cached = torch.tensor([self._ref_rejected[_cache_key(*row)] for row in rejected], dtype=torch.float32)
        fluency = None
        if selves:
            lengths = _scored_lengths(self.leader, ys, values.device)
            fluency = values[n + m :] / (lengths.clamp(min=1.0) if lengths is not None else 1.0)
        return values[:n], cached.to(values.device), fluency

    def play_step(self, step: int) -> dict:
        cfg, objective, leader = self.config, self.objective, self.leader
        start = time.perf_counter()
        self._current = self._step_inputs(step)
        inputs = [self.data.inputs[i] for i in self._current]
        rng = np.random.default_rng(self._seed_for(step, 0))
        xs, cs, ys, raw, figures = self._targets(inputs, rng, step)
        flips = rng.random(len(raw)) < objective.p_flip
        verdicts = np.where(flips, 1 - raw, raw)
        shifted = not cfg.seed_faithful_logprob

        n = len(ys)
        rejected = np.flatnonzero(self._rejected_rows(verdicts))
        # The rejected side is the input itself (x | c): the toxic original, given what the leader saw.
        rejected_rows = [(cs[i], xs[i]) for i in rejected]
        with self._timed("reference_forward"):
            ref_chosen, ref_rejected_rows, fluency = self._reference(cs, ys, rejected_rows, shifted)
        leader.model.train(cfg.train_mode_sampling)
        with self._timed("policy_forward"), self._autocast():
            # One call for both sides (the leader encodes each c once): rows [0, n) score y, the rest x.
            policy = leader.sequence_logprobs(cs + [c for c, _ in rejected_rows], ys + [x for _, x in rejected_rows],
                                              shifted=shifted).float()
        policy_rejected = ref_rejected = None
        if objective.uses_rejected:
            where = torch.as_tensor(rejected, device=policy.device, dtype=torch.long)
            policy_rejected = policy.new_zeros(n).index_add(0, where, policy[n:])
            ref_rejected = policy.new_zeros(n).index_add(0, where, ref_rejected_rows)
        terms = LossTerms(
            policy_chosen=policy[:n],
            ref_chosen=ref_chosen,
            fails=torch.as_tensor(verdicts, dtype=torch.float32, device=policy.device),
            policy_rejected=policy_rejected,
            ref_rejected=ref_rejected,
            group_size=self._group_size,
            chosen_lengths=_scored_lengths(leader, ys, policy.device),
            kept=_kept(xs, ys, policy.device, KEPT_MEASURES[objective.kept_measure]),
            fluency=fluency,
        )
        loss, logs = objective.loss(terms)
        if not torch.isfinite(loss).all():  # one NaN step would make every weight NaN, and the run would exit 0
            raise UserError(f"objective {objective.name!r} ({type(objective).__module__}) gave a non-finite loss "
                            f"({loss.detach().float().cpu().numpy().ravel()[:1][0]}) at step {step + 1}; the leader "
                            "was not updated, and the last checkpoint is kept")
        if cfg.chosen_nll:
            passes = 1 - terms.fails
            nll = -terms.policy_chosen / (terms.chosen_lengths if terms.chosen_lengths is not None else 1.0)
            nll = (nll * passes).sum() / passes.sum().clamp(min=1)
            loss = loss + cfg.chosen_nll * nll
            logs["loss_nll"] = nll.item()
        with self._timed("backward"):
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            self._sync_gradients()
        with self._timed("optimizer"):
            if cfg.warmup_steps:
                for group in self.optimizer.param_groups:
                    group["lr"] = cfg.lr * min(1.0, (step + 1) / cfg.warmup_steps)
            if cfg.max_grad_norm:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(leader.trainable_parameters(), cfg.max_grad_norm)
            self.scaler.step(self.optimizer)
            self.scaler.update()
        leader.model.eval()
        log_ratio = (terms.policy_chosen.detach() - ref_chosen).mean().item()
        return {
            "step": step + 1,
            "pass_rate_raw": float(1 - raw.mean()),
            "pass_rate": float(1 - verdicts.mean()),
            "loss": loss.item(),
            **{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in logs.items()},
            "log_ratio": log_ratio,
            **({"kept": round(float(terms.kept.mean()), 4)} if terms.kept is not None else {}),
            "target_words": float(np.mean([len((y.text if isinstance(y, Sample) else str(y)).split()) for y in ys])),
            **figures,
            "seconds": round(time.perf_counter() - start, 4),
        }

    # --- the loop, checkpoints ------------------------------------------------------------------

    def play(self, checkpoint_dir: Path | None = None, on_step: OnStep | None = None,
             stop_after: int | None = None) -> GameResult:
        """Run to the end (or ``stop_after`` steps in total, to simulate an interruption)."""
        resumed_from = self.step or None
        total = self.total_steps
        end = total if stop_after is None else min(total, stop_after)
        torch.manual_seed(self.seed)
        self.leader.model.eval()
        while self.step < end:
            entry = self.play_step(self.step)
            self.history.append(entry)
            self.step += 1
            if on_step is not None:
                on_step(entry, total)
            every = self.config.checkpoint_every
            due = every and (self.step % every == 0 or self.step == end)
            if checkpoint_dir is not None and due and self.rank == 0:
                self.save_checkpoint(checkpoint_dir)
        timings = {k: round(v, 3) for k, v in self.timings.items()}
        return GameResult(self.step, self.history, timings, resumed_from)

    def save_checkpoint(self, path: Path) -> None:
        state = {"step": self.step, "history": self.history, "timings": self.timings, "ref_rejected": self._ref_rejected}
        save_checkpoint(path, self.leader.model, self.optimizer, state)

    def load_checkpoint(self, path: Path) -> bool:
        """Continue from the checkpoint at ``path`` if there is one; True when something was loaded."""
        state = load_checkpoint(path, self.leader.model, self.optimizer, self.leader.device)
        if state is None:
            return False
        self.step, self.history = state["step"], state["history"]
        self.timings = state.get("timings", {})
        self._ref_rejected = state.get("ref_rejected", {})
        return True


def _cache_key(condition: str, target: str) -> str:
    # the input alone when the leader saw it unmasked (as checkpoints before --decode stored it)
    return target if condition == target else f"{condition}\x1f{target}"


def _scored_lengths(leader, targets: list, device) -> torch.Tensor | None:
    """Tokens scored per target: a sample's ids (plus the end token if generated), a human rewrite's tokens and
    its end token; None for samples without ids."""
    if targets and all(isinstance(t, str) for t in targets):  # pairs
        return torch.tensor(leader.target_lengths(targets), dtype=torch.float32, device=device)
    if not targets or not all(isinstance(t, Sample) and t.ids is not None for t in targets):
        return None
    return torch.tensor([len(t.ids) + t.ended for t in targets], dtype=torch.float32, device=device)


def _kept(inputs: list[str], targets: list, device, measure) -> torch.Tensor | None:
    """Each sample's kept share of its input's words (by ``measure``); None for human references (pairs)."""
    if not targets or not all(isinstance(t, Sample) for t in targets):
        return None
    return torch.tensor([measure(x, t.text) for x, t in zip(inputs, targets)], dtype=torch.float32, device=device)
