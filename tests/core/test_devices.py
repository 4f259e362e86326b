"""Devices and base models: listing, resolving, precision, offline-safe loading."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stsstudio.core.devices import Device, DeviceError, list_devices, precision_for, resolve_device
from stsstudio.core.errors import UserError
from stsstudio.core.models import (
    DEFAULT_MODEL,
    ModelLoadError,
    default_model_dir,
    describe_model,
    load_model,
    resolve_model,
)

# -- devices -----------------------------------------------------------------------------


def test_cpu_is_listed_last_with_a_readable_label() -> None:
    devices = list_devices()
    assert devices[-1].id == "cpu"
    assert devices[-1].label.startswith("CPU (") and "core" in devices[-1].label
    for d in devices:
        assert set(d.as_dict()) == {"id", "kind", "label", "memory_bytes"}
        assert d.kind in ("cpu", "cuda", "mps", "xpu")


def test_auto_prefers_cuda_then_mps_then_cpu() -> None:
    devices = list_devices()
    kinds = [d.kind for d in devices]
    expected = "cuda" if "cuda" in kinds else "mps" if "mps" in kinds else "cpu"
    assert resolve_device("auto").kind == expected
    assert resolve_device(None).kind == expected
    assert resolve_device("cpu").id == "cpu"


def test_missing_or_unknown_device_is_a_clear_error() -> None:
    with pytest.raises(DeviceError, match="Unknown device 'tpu7'"):
        resolve_device("tpu7")
    if not any(d.kind == "cuda" for d in list_devices()):
        with pytest.raises(DeviceError, match="not available on this machine"):
            resolve_device("cuda")
    with pytest.raises(UserError):
        resolve_device("cuda:99")


def test_precision_none_on_cpu_mixed_on_cuda() -> None:
    assert precision_for("cpu") == {"bf16": False, "fp16": False}
    assert precision_for(Device("cpu", "cpu", "CPU", None)) == {"bf16": False, "fp16": False}
    for d in list_devices():
        p = precision_for(d)
        if d.kind == "cuda":
            assert p["bf16"] != p["fp16"]  # exactly one mixed precision on CUDA


def test_cli_devices_json(capsys: pytest.CaptureFixture[str]) -> None:
    from stsstudio.cli import main

    assert main(["devices", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert listed[-1]["id"] == "cpu"


def test_core_modules_import_without_torch() -> None:
    code = ("import sys; import stsstudio.core.devices, stsstudio.core.models, stsstudio.core.training; "
            "heavy = ('torch', 'sentence_transformers', 'transformers'); "
            "print(sorted(m for m in heavy if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- models ------------------------------------------------------------------------------


def test_resolve_names(tiny_model_dir: Path) -> None:
    default = str(default_model_dir())
    assert resolve_model(None) == resolve_model("") == resolve_model(DEFAULT_MODEL) == default
    assert resolve_model(str(tiny_model_dir)) == str(tiny_model_dir.resolve())
    hub_id = "sentence-transformers/all-mpnet-base-v2"
    assert resolve_model(hub_id) == hub_id
    for bad in ("./no/such/folder", "a/b/c", "not a model"):
        with pytest.raises(ModelLoadError):
            resolve_model(bad)
    assert describe_model("default") == "all-MiniLM-L6-v2 (embedded)"
    assert describe_model(default) == "all-MiniLM-L6-v2 (embedded)"
    assert describe_model(str(tiny_model_dir)) == "st (folder)"
    assert describe_model("org/name") == "org/name"


def test_load_local_folders(tiny_model_dir: Path, tiny_hf_dir: Path) -> None:
    st = load_model(str(tiny_model_dir))
    assert st.encode(["a man is playing a guitar"]).shape == (1, 32)
    # A plain transformers folder gets mean pooling; its "no modules.json" warning is expected.
    with __import__("warnings").catch_warnings():
        __import__("warnings").simplefilter("error")
        hf = load_model(str(tiny_hf_dir), max_seq_length=16)
    assert hf.max_seq_length == 16
    assert hf.encode(["a man is playing a guitar"]).shape == (1, 32)


def test_bad_folders_and_uncached_hub_ids_fail_clearly(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelLoadError, match="not a model folder"):
        load_model(str(empty))
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="Could not load the model"):
        load_model(str(garbage))
    t0 = time.monotonic()
    with pytest.raises(ModelLoadError, match="not available offline"):
        load_model("no-such-org/no-such-model-xyz")
    assert time.monotonic() - t0 < 30  # never hangs on the network
