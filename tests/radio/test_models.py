"""The propagation-model registry: one entry per ``[model] name``, each with its source."""

from __future__ import annotations

import numpy as np
import pytest

from c2000cov.errors import InvalidInputError
from c2000cov.radio.itu import p525
from c2000cov.radio.models import MODEL_SOURCES, MODELS, model_for, point_loss_lower_bound_db
from c2000cov.scenario.schema import MODEL_NAMES, ModelConfig


def test_every_scenario_model_name_has_a_registry_entry():
    assert set(MODELS) == set(MODEL_NAMES)
    for name, model in MODELS.items():
        assert model.name == name
        assert "ITU-R P." in model.source, name
        assert MODEL_SOURCES[name] == model.source


def test_unknown_model_is_refused_with_the_choices():
    with pytest.raises(InvalidInputError,
                       match=r"unknown model 'itm'; choose one of: fspl, hata, p1812"):
        model_for(ModelConfig(name="itm"))


@pytest.mark.parametrize("name", ["fspl", "p1812", "hata"])
def test_free_space_is_the_lower_bound_of_every_model(name):
    d_m = np.array([1.0, 100.0, 1000.0, 20000.0])
    got = point_loss_lower_bound_db(ModelConfig(name=name), d_m, 1.5, 30.0, 392.5, 10.0)
    want = p525.free_space_loss_db(392.5, np.maximum(d_m, 5.0) / 1000.0)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    # P.525-4 eq. (4): 32.4 + 20 log10(392.5 MHz) + 20 log10(1 km) = 84.277 dB
    assert got[2] == pytest.approx(84.2768, abs=1e-3)


def test_hata_is_floored_at_free_space():
    """Below its 1 km validity Hata falls under free space (8.4 dB at 0.1 km for a 30 m mast
    and a 1.5 m handheld in open land); the model never goes below P.525 over the 3-D
    distance, and is Hata itself where Hata is the larger."""
    from c2000cov.radio.itu import hata

    model = ModelConfig(name="hata", hata_environment="open")
    d_m = np.array([100.0, 5000.0])
    dz_m = np.array([28.5, 28.5])
    got = MODELS["hata"].distance_loss_db(model, 392.5, d_m, dz_m, 30.0, 1.5)
    free = p525.free_space_loss_db(392.5, np.hypot(d_m, dz_m) / 1000.0)
    with pytest.warns(Warning):
        raw = hata.hata_loss_db(392.5, d_m / 1000.0, 30.0, 1.5, "open")
    assert free[0] - raw[0] == pytest.approx(8.4, abs=0.1)  # Hata alone, at 0.1 km
    assert got[0] == pytest.approx(free[0], abs=1e-9)
    assert got[1] == pytest.approx(raw[1], abs=1e-9)  # at 5 km Hata is far above
    assert raw[1] > free[1] + 5.0


def test_area_runs_refuse_a_time_pct_other_than_50(tmp_path):
    """The area kernel computes the median (50 % time); another [model] time_pct was accepted,
    recorded and put in the cache key but never used, so it is refused."""
    from c2000cov.errors import ScenarioError
    from c2000cov.scenario.config import scenario_from_dict

    data = {"scenario": {"name": "x", "resolution_m": 20.0}, "terrain": {"dtm": "d.tif"},
            "masts": {"path": "m.csv"}, "model": {"time_pct": 50.0}}
    assert scenario_from_dict(data, tmp_path / "s.toml").model.time_pct == 50.0
    data["model"]["time_pct"] = 10.0
    with pytest.raises(ScenarioError, match=r"s.toml: model.time_pct = 10: area runs compute "
                       "50 % time only"):
        scenario_from_dict(data, tmp_path / "s.toml")
