"""``[model] device``: selection logic, its error messages, the CLI and a run on the CUDA simulator.

The machine has no GPU, so the GPU side is faked (select_device's gpu_check) for the
logic, and run for real on Numba's CUDA simulator (a subprocess with
``NUMBA_ENABLE_CUDASIM=1``) end to end: ``c2000cov run --device auto`` picks the
simulated GPU, says so in run.json, writes what a CPU run writes (bit-identical on the
simulator) and keeps its loss windows in the same cache, apart from the CPU's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import rasterio

from c2000cov.errors import DeviceUnavailableError, InvalidInputError, ScenarioError
from c2000cov.pipeline.cache import LossCache
from c2000cov.radio import device as dev
from c2000cov.scenario.config import load_scenario
from c2000cov.scenario.schema import ModelConfig
from tests.cli.test_bad_input import check_error, run_cli
from tests.scenarios import write_scenario

REPO = Path(__file__).resolve().parents[2]


def _fake_gpu(monkeypatch, name, why=None):
    monkeypatch.setattr(dev, "gpu_check", lambda: (name, why))


def test_cpu_never_asks_for_a_gpu(monkeypatch):
    monkeypatch.setattr(dev, "gpu_check", lambda: pytest.fail("cpu must not probe the GPU"))
    d = dev.select_device(ModelConfig(device="cpu"))
    assert (d.requested, d.used, d.label) == ("cpu", "cpu", "CPU")
    assert d.manifest() == {"requested": "cpu", "used": "cpu"}


def test_auto_uses_the_gpu_when_there_is_one(monkeypatch):
    _fake_gpu(monkeypatch, "NVIDIA H200")
    d = dev.select_device(ModelConfig(device="auto"))
    assert d.used == "gpu" and d.label == "GPU NVIDIA H200"
    assert d.manifest() == {"requested": "auto", "used": "gpu", "name": "NVIDIA H200"}
    assert d.model(ModelConfig(device="auto")) == ModelConfig(device="gpu")


def test_auto_falls_back_to_the_cpu_and_says_why(monkeypatch):
    _fake_gpu(monkeypatch, None, "numba finds no CUDA GPU")
    d = dev.select_device(ModelConfig(device="auto"))
    assert d.manifest() == {"requested": "auto", "used": "cpu",
                            "note": "numba finds no CUDA GPU"}
    d = dev.select_device(ModelConfig(name="hata", device="auto"))
    assert d.used == "cpu" and d.note == "model hata runs on the CPU"


def test_gpu_without_one_is_one_clear_error(monkeypatch):
    _fake_gpu(monkeypatch, None, "numba finds no CUDA GPU")
    with pytest.raises(DeviceUnavailableError) as exc:
        dev.select_device(ModelConfig(device="gpu"))
    assert str(exc.value) == ('model.device = "gpu": numba finds no CUDA GPU; use device = '
                              '"cpu" or "auto", or --device cpu')
    _fake_gpu(monkeypatch, None, "NVIDIA H200 cannot run the kernel: NvvmSupportError: "
                                 "libNVVM cannot be found")
    with pytest.raises(DeviceUnavailableError, match="libNVVM cannot be found"):
        dev.select_device(ModelConfig(device="gpu"))


def test_gpu_for_a_model_without_a_gpu_kernel(monkeypatch):
    _fake_gpu(monkeypatch, "NVIDIA H200")
    with pytest.raises(InvalidInputError, match='needs model.name = "p1812".*got \'fspl\''):
        dev.select_device(ModelConfig(name="fspl", device="gpu"))


def test_scenario_device_key(tmp_path):
    scen = write_scenario(tmp_path, model="p1812", extra="")
    assert load_scenario(scen).model.device == "cpu"
    assert load_scenario(scen, {"model.device": "auto"}).model.device == "auto"
    with pytest.raises(ScenarioError) as exc:
        load_scenario(scen, {"model.device": "tpu"})
    assert "model.device = 'tpu' is not a valid choice; choose one of: cpu, gpu, auto" in str(
        exc.value)


def test_cli_device_gpu_without_a_gpu_exits_2_with_one_line(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path, model="p1812", radius_m=500.0, size_px=60)
    _fake_gpu(monkeypatch, None, "numba finds no CUDA GPU")
    code, err = run_cli(["run", str(scen), "--quiet", "--no-map", "--device", "gpu",
                         "--out", str(tmp_path / "out")], capsys, monkeypatch)
    assert code == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines == ['error: model.device = "gpu": numba finds no CUDA GPU; use device = "cpu" '
                     'or "auto", or --device cpu'], err
    assert not (tmp_path / "out").exists()


def test_cli_rejects_an_unknown_device(tmp_path, capsys, monkeypatch):
    scen = write_scenario(tmp_path, model="p1812")
    text = scen.read_text().replace('name = "p1812"', 'name = "p1812"\ndevice = "tpu"')
    scen.write_text(text)
    check_error(scen, ["model.device = 'tpu'", "cpu, gpu, auto"], capsys, monkeypatch)


def test_bench_records_carry_the_device(monkeypatch):
    from c2000cov.devtools import bench

    monkeypatch.setitem(bench.WORKLOADS, "tiny", bench._single_mast(25.0, radius_m=500.0))
    (rec,) = bench.run_workloads(["tiny"], 1)
    assert rec["device"] == "cpu" and "device_name" not in rec
    assert rec["pixels"] > 1000
    # CPU time of the calls (one thread: at most the wall time plus the clock's grain) and
    # the shared Ldsph tables, timed apart from the calls
    assert 0.0 < rec["cpu_s"] <= rec["seconds"] + 0.05
    assert rec["sph_table_s"] > 0.0
    monkeypatch.setattr(bench, "gpu_check", lambda: (None, "numba finds no CUDA GPU"))
    with pytest.raises(DeviceUnavailableError, match="bench --device gpu: numba finds no"):
        bench.run_workloads(["tiny"], 1, "gpu")
    (rec,) = bench.run_workloads(["tiny"], 1, "auto")
    assert rec["device"] == "cpu"


def test_bench_two_frequency_workload_counts_locations(monkeypatch):
    """A sweep of the downlink and uplink pair: the same locations as one frequency (the
    pixels inside the 500 m radius, counted here), its frequencies in the record."""
    from c2000cov.devtools import bench

    monkeypatch.setitem(bench.WORKLOADS, "tiny", bench._single_mast(25.0, radius_m=500.0))
    monkeypatch.setitem(bench.WORKLOADS, "tiny2", bench._single_mast(
        25.0, radius_m=500.0, freqs_mhz=bench.BENCH_FREQS_2_MHZ))
    one, two = bench.run_workloads(["tiny", "tiny2"], 1)
    assert one["freqs_mhz"] == [392.5]
    assert two["freqs_mhz"] == [392.5, 382.5]
    r, c = np.mgrid[-25:26, -25:26]
    inside = int(np.count_nonzero(np.hypot(r, c) * 25.0 <= 500.0))
    assert one["pixels"] == two["pixels"] == inside


# ------------------------------------------------------------- on the simulator


def _tif(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read()


@pytest.mark.slow  # three CLI runs, one on the simulator: about 4 minutes here
def test_run_on_the_cuda_simulator_equals_the_cpu_run(tmp_path):
    """``--device auto`` on the simulator: run.json names the GPU, the progress line says it,
    the coverage equals the CPU run's, and a second run reads every window from the cache."""
    heights = (np.add.outer(np.arange(40), np.arange(40)) * 0.8).astype("float32")
    scen = write_scenario(tmp_path / "s", model="p1812", radius_m=300.0, size_px=40,
                          heights=heights, with_buildings=True,
                          masts_rows=["M01,A,150300,450500,30,44,11,8,3",
                                      "M02,B,150500,450300,25,44,11,8,3"])
    env = dict(os.environ, PYTHONPATH=str(REPO))
    cpu = subprocess.run([sys.executable, "-m", "c2000cov.cli", "run", str(scen), "--no-map",
                          "--quiet", "--out", str(tmp_path / "cpu")], env=env,
                         capture_output=True, text=True, timeout=900)
    assert cpu.returncode == 0, cpu.stderr[-3000:]
    env["NUMBA_ENABLE_CUDASIM"] = "1"
    cmd = [sys.executable, "-m", "c2000cov.cli", "run", str(scen), "--no-map", "--device",
           "auto", "--out", str(tmp_path / "gpu"), "--cache-dir", str(tmp_path / "cache")]
    gpu = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert gpu.returncode == 0, gpu.stderr[-3000:]
    assert "masts (GPU SIMULATOR)" in gpu.stderr
    manifest = json.loads((tmp_path / "gpu" / "run.json").read_text())
    assert manifest["model"]["device"] == {"requested": "auto", "used": "gpu",
                                           "name": "SIMULATOR"}
    assert json.loads((tmp_path / "cpu" / "run.json").read_text())["model"]["device"] == {
        "requested": "cpu", "used": "cpu"}
    name = "p_cover_handheld_outdoor.tif"
    a, b = _tif(tmp_path / "cpu" / name), _tif(tmp_path / "gpu" / name)
    assert np.isfinite(a).sum() > 500
    assert np.array_equal(a, b, equal_nan=True)
    again = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stderr[-3000:]
    # loss windows only; base_state/ holds the runs' stored reductions
    cache_files = LossCache(tmp_path / "cache").entry_paths()
    assert len(cache_files) == 4  # 2 masts x (DL, UL), computed once
    assert np.array_equal(_tif(tmp_path / "gpu" / name), b, equal_nan=True)


def test_resolved_device_is_part_of_the_cache_key():
    from c2000cov.pipeline.cache import loss_key

    s = np.zeros((5, 5), np.float32)
    m = ModelConfig()
    keys = {d: loss_key(s, s, (25, 0, 0, 0, -25, 0), 2, 2, 30.0, replace(m, device=d), 392.5,
                        1.5, "k") for d in ("cpu", "gpu")}
    assert keys["cpu"] != keys["gpu"]
