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


@pytest.mark.parametrize("name", ["fspl", "p1812"])
def test_free_space_is_the_lower_bound_of_terrain_models(name):
    d_m = np.array([1.0, 100.0, 1000.0, 20000.0])
    got = point_loss_lower_bound_db(ModelConfig(name=name), d_m, 1.5, 30.0, 392.5, 10.0)
    want = p525.free_space_loss_db(392.5, np.maximum(d_m, 5.0) / 1000.0)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    # P.525-4 eq. (4): 32.4 + 20 log10(392.5 MHz) + 20 log10(1 km) = 84.277 dB
    assert got[2] == pytest.approx(84.2768, abs=1e-3)
