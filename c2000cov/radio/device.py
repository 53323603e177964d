"""Which processor runs the p1812 area kernel: ``[model] device`` = ``cpu``, ``gpu`` or ``auto``.

- ``cpu`` (default): :func:`c2000cov.kernels.area.area_loss_multi_db`; the same inputs
  give bit-identical outputs on any machine and thread count;
- ``gpu``: :func:`c2000cov.kernels.area_cuda.area_loss_multi_db_gpu` (numba.cuda); a
  run without a GPU that compiles and runs the kernel stops before it reads its inputs,
  with one line that says why (exit status 2);
- ``auto``: the GPU when there is one that runs the kernel, else the CPU.

The GPU gives the CPU kernel's results within 0.05 dB (the last bits of its math
library differ), so the loss cache keeps the two apart (the resolved device is part of
the model in every cache key). Models other than ``p1812`` have no GPU path: they run
on the CPU under ``auto``, and ``gpu`` is an error for them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from c2000cov.errors import DeviceUnavailableError, InvalidInputError
from c2000cov.kernels.area_cuda import gpu_check
from c2000cov.scenario.schema import DEVICES, ModelConfig

#: Models with a GPU kernel.
GPU_MODELS = ("p1812",)


@dataclass(frozen=True)
class ComputeDevice:
    """The processor a run uses: ``requested`` (from the scenario), ``used`` (``cpu`` or
    ``gpu``), the GPU's ``name`` and, when ``auto`` fell back to the CPU, ``note`` (why)."""

    requested: str
    used: str
    name: str = ""
    note: str = ""

    @property
    def label(self) -> str:
        """``CPU`` or ``GPU <name>``: what the progress line shows."""
        return f"GPU {self.name}" if self.used == "gpu" else "CPU"

    def model(self, model: ModelConfig) -> ModelConfig:
        """``model`` with the device it actually runs on (what loss windows are keyed by)."""
        return replace(model, device=self.used)

    def manifest(self) -> dict:
        """The ``run.json`` record."""
        out = {"requested": self.requested, "used": self.used}
        if self.name:
            out["name"] = self.name
        if self.note:
            out["note"] = self.note
        return out


def select_device(model: ModelConfig) -> ComputeDevice:
    """Resolve ``model.device`` to the processor a run uses (see the module docstring).

    Raises
    ------
    DeviceUnavailableError
        ``device = "gpu"`` and numba finds no GPU, or one that cannot run the kernel.
    InvalidInputError
        An unknown device, or ``device = "gpu"`` for a model without a GPU kernel.
    """
    requested = model.device
    if requested not in DEVICES:
        raise InvalidInputError(f"model.device must be one of {', '.join(DEVICES)}; "
                                f"got {requested!r}")
    if requested == "cpu":
        return ComputeDevice(requested, "cpu")
    if model.name not in GPU_MODELS:
        if requested == "gpu":
            raise InvalidInputError(
                f'model.device = "gpu" needs model.name = "p1812" (the only model with a GPU '
                f'kernel), got {model.name!r}; use device = "cpu" or "auto"')
        return ComputeDevice(requested, "cpu", note=f"model {model.name} runs on the CPU")
    name, why = gpu_check()
    if name is None:
        if requested == "gpu":
            raise DeviceUnavailableError(f'model.device = "gpu": {why}; use device = "cpu" '
                                         'or "auto", or --device cpu')
        return ComputeDevice(requested, "cpu", note=why)
    return ComputeDevice(requested, "gpu", name)
