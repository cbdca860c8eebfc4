"""Device and precision for leaders.

Weights always stay float32: mixed precision is autocast around forward passes, so the optimizer
updates full-precision master weights (bf16 weights lose small updates at lr 2e-5, and fp16 weights
overflow). fp16 additionally needs loss scaling, which :func:`grad_scaler` provides.
"""

from __future__ import annotations

import contextlib

import torch

from ..errors import UserError

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(option: str = "auto") -> torch.device:
    """``auto`` is the first CUDA device when there is one, else the CPU."""
    if option in ("", "auto", None):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(option)
    except RuntimeError as exc:
        raise UserError(f"--device {option}: unknown device (auto, cpu, cuda, cuda:N, mps)") from exc
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if not count:
            raise UserError(f"--device {option}: no CUDA device here (torch sees none); use --device cpu or auto")
        if device.index is not None and device.index >= count:
            raise UserError(f"--device {option}: there is no such device (this machine has {count}: cuda:0"
                            f"{f' to cuda:{count - 1}' if count > 1 else ''})")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise UserError(f"--device {option}: no Apple MPS device here")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise UserError(f"--device {option}: not a device sro-bench runs on (auto, cpu, cuda, cuda:N, mps)")
    return device


def resolve_precision(option: str, device: torch.device) -> str:
    """``auto``: bf16 on CUDA where supported, fp16 on other CUDA, fp32 elsewhere."""
    if option not in PRECISIONS:
        raise UserError(f"unknown precision {option!r} (one of {', '.join(PRECISIONS)})")
    if option != "auto":
        return option
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """An autocast context for ``precision`` (a no-op for fp32)."""
    if precision not in _DTYPES:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=_DTYPES[precision])


def grad_scaler(device: torch.device, precision: str) -> torch.amp.GradScaler:
    """A loss scaler that is active only for fp16 (a pass-through otherwise)."""
    return torch.amp.GradScaler(device.type, enabled=precision == "fp16")
