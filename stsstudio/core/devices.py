"""The devices training can run on, with readable names, and the mixed precision each supports.

torch is imported inside the functions: the GUI imports core modules on its start-up path and
importing torch there would cost seconds before the first window appears.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

from stsstudio.core.errors import UserError


class DeviceError(UserError):
    """The requested device does not exist or is not usable on this machine."""


@dataclass
class Device:
    """One usable device.

    Attributes:
        id: the torch device string: "cpu", "cuda:0", "mps", "xpu:0".
        kind: "cpu", "cuda", "mps" or "xpu".
        label: a readable name, e.g. "NVIDIA H100 80GB HBM3 (79.1 GiB)" or "CPU (8 cores)".
        memory_bytes: total device memory where torch reports it, else None.
    """

    id: str
    kind: str
    label: str
    memory_bytes: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        return self.id


def _gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def _cpu_device() -> Device:
    try:
        cores = len(os.sched_getaffinity(0))  # respects container/cgroup CPU pinning
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return Device("cpu", "cpu", f"CPU ({cores} core{'s' if cores != 1 else ''})", None)


def _cuda_devices(torch: Any) -> list[Device]:
    out: list[Device] = []
    try:
        if not torch.cuda.is_available():
            return out
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            mem = int(props.total_memory)
            out.append(Device(f"cuda:{i}", "cuda", f"{props.name} ({_gib(mem)})", mem))
    except Exception:  # noqa: BLE001 - a broken driver means "no CUDA", not a crash
        return []
    return out


def _mps_devices(torch: Any) -> list[Device]:
    try:
        backend = getattr(torch.backends, "mps", None)
        if backend is not None and backend.is_available():
            return [Device("mps", "mps", "Apple GPU (MPS)", None)]
    except Exception:  # noqa: BLE001
        pass
    return []


def _xpu_devices(torch: Any) -> list[Device]:
    out: list[Device] = []
    try:
        xpu = getattr(torch, "xpu", None)
        if xpu is None or not xpu.is_available():
            return out
        for i in range(xpu.device_count()):
            props = xpu.get_device_properties(i)
            mem = int(getattr(props, "total_memory", 0)) or None
            name = getattr(props, "name", "Intel GPU")
            label = f"{name} ({_gib(mem)})" if mem else f"{name} (XPU)"
            out.append(Device(f"xpu:{i}", "xpu", label, mem))
    except Exception:  # noqa: BLE001
        return []
    return out


def list_devices() -> list[Device]:
    """The usable devices: CUDA GPUs, Apple MPS, Intel XPU where torch has them; CPU always last."""
    import torch

    return [*_cuda_devices(torch), *_mps_devices(torch), *_xpu_devices(torch), _cpu_device()]


def resolve_device(spec: str | None = "auto") -> Device:
    """The device to train on.

    Args:
        spec: "auto" (CUDA, then MPS, then CPU), "cpu", "cuda", "cuda:N", "mps", "xpu", "xpu:N".

    Raises:
        DeviceError: the requested device is not available here.
    """
    text = (spec or "auto").strip().lower()
    devices = list_devices()
    if text == "auto":
        for kind in ("cuda", "mps"):
            for d in devices:
                if d.kind == kind:
                    return d
        return devices[-1]
    for d in devices:
        if text == d.id or text == d.kind:
            return d
    known = ("cpu", "cuda", "mps", "xpu")
    kind = text.split(":", 1)[0]
    have = ", ".join(d.id for d in devices)
    if kind not in known:
        raise DeviceError(f"Unknown device {spec!r}; use auto, cpu, cuda, cuda:N, mps or xpu "
                          f"(available here: {have}).")
    raise DeviceError(f"Device {spec!r} is not available on this machine (available: {have}).")


def precision_for(device: Device | str) -> dict[str, bool]:
    """Mixed precision flags for the Trainer: bf16 where the GPU supports it, else fp16 on CUDA.

    CPU trains in full precision: CPU autocast to bf16 is slower than fp32 on most CPUs.
    """
    dev_id = device.id if isinstance(device, Device) else str(device)
    kind = dev_id.split(":", 1)[0]
    if kind == "cuda":
        import torch

        try:
            index = int(dev_id.split(":", 1)[1]) if ":" in dev_id else 0
            with torch.cuda.device(index):
                bf16 = bool(torch.cuda.is_bf16_supported())
        except Exception:  # noqa: BLE001
            bf16 = False
        return {"bf16": bf16, "fp16": not bf16}
    if kind == "xpu":
        return {"bf16": True, "fp16": False}
    if kind == "mps":
        import torch

        # bf16 autocast on MPS arrived with macOS 14; older systems get neither.
        try:
            ok = bool(torch.backends.mps.is_macos_or_newer(14, 0))
        except Exception:  # noqa: BLE001
            ok = False
        return {"bf16": ok, "fp16": False}
    return {"bf16": False, "fp16": False}
