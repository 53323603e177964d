"""Coverage rasters written window by window equal the whole-array writes (#20).

The twin is the band computation of ``products/runfolder.py`` before #20 (whole
arrays), written with one window; the tiled bands are written in 64 px windows.
The COG files must be equal byte for byte.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import rasterio

import c2000cov.files.rasters as rasters
from c2000cov.analysis.coverage import ProfileCoverage
from c2000cov.files.rasters import TiledBand, write_cog
from c2000cov.geo.grid import Grid
from c2000cov.products.runfolder import (
    CODE_NODATA,
    P_COVER_DECIMALS,
    SIGNAL_DECIMALS,
    categorical_bands,
    coverage_bands,
    write_profile_rasters,
)


def _coverage(n_masts: int, shape=(150, 170), seed: int = 3) -> ProfileCoverage:
    rng = np.random.default_rng(seed)
    grid = Grid.from_bounds((150000.0, 450000.0, 150000.0 + shape[1] * 20.0,
                             450000.0 + shape[0] * 20.0), 20.0, "EPSG:28992")
    p = rng.random(shape).astype("float32")
    p[rng.random(shape) < 0.1] = np.nan
    server = rng.integers(-1, n_masts, shape).astype("int16")
    u8 = lambda hi: rng.integers(0, hi, shape).astype("uint8")  # noqa: E731
    sig = rng.normal(-90.0, 10.0, shape).astype("float32")
    return ProfileCoverage("hh", grid, p, u8(3), server, sig, u8(300), u8(4), sig, sig, 8.0,
                           95.0, sig)


def _old_bands(cov: ProfileCoverage, n_masts: int) -> dict[str, np.ndarray]:
    """runfolder's whole-array bands before #20 (the twin)."""
    ev = np.isfinite(cov.p_cover)
    server_dtype = np.dtype("uint8") if n_masts < CODE_NODATA else np.dtype("uint16")
    server_nodata = np.iinfo(server_dtype).max
    server = np.where(ev & (cov.server >= 0), cov.server, server_nodata).astype(server_dtype)
    return {
        "p_cover": np.round(cov.p_cover, P_COVER_DECIMALS),
        "best_signal_dl_dbm": np.round(cov.signal_dl_dbm, SIGNAL_DECIMALS),
        "class": np.where(ev, cov.coverage_class, CODE_NODATA).astype("uint8"),
        "limiting": np.where(ev, cov.limiting, CODE_NODATA).astype("uint8"),
        "best_server": server,
        "n_masts_at_target": np.where(ev, np.minimum(cov.n_at_target, CODE_NODATA - 1),
                                      CODE_NODATA).astype("uint8"),
    }


@pytest.mark.parametrize("n_masts", [7, 300])
def test_windowed_bands_equal_the_whole_array_twin(monkeypatch, n_masts):
    cov = _coverage(n_masts)
    old = _old_bands(cov, n_masts)
    new = dict(zip(("p_cover", "best_signal_dl_dbm"), coverage_bands(cov)[0], strict=True))
    new.update(categorical_bands(cov, n_masts))
    from c2000cov.geo.grid import Window

    whole = Window(0, 0, *cov.grid.shape)
    for name, band in new.items():
        got = band.compute(whole)
        assert got.dtype == old[name].dtype == band.dtype, name
        assert got.tobytes() == old[name].tobytes(), name


def test_cog_written_in_windows_equals_one_write(monkeypatch, tmp_path):
    cov = _coverage(7)
    old = _old_bands(cov, 7)
    monkeypatch.setattr(rasters, "WRITE_TILE_PX", 10**6)
    one = write_cog(tmp_path / "one.tif", [old["p_cover"], old["best_signal_dl_dbm"]],
                    cov.grid, ["p_cover", "best_signal_dl_dbm"], categorical=False)
    cls_one = write_cog(tmp_path / "cls_one.tif", [old["class"]], cov.grid, ["class"],
                        nodata=255)
    monkeypatch.setattr(rasters, "WRITE_TILE_PX", 64)
    bands = coverage_bands(cov)[0]
    tiled = write_cog(tmp_path / "tiled.tif", bands, cov.grid,
                      ["p_cover", "best_signal_dl_dbm"], categorical=False)
    cls_tiled = write_cog(tmp_path / "cls_tiled.tif", [categorical_bands(cov, 7)["class"]],
                          cov.grid, ["class"], nodata=255)
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(one) == digest(tiled)
    assert digest(cls_one) == digest(cls_tiled)
    with rasterio.open(tiled) as src:
        assert np.array_equal(src.read(1), old["p_cover"], equal_nan=True)
    # the whole profile: every file equal whether written in 64 px windows or at once
    files = {}
    for px in (64, 10**6):
        monkeypatch.setattr(rasters, "WRITE_TILE_PX", px)
        out = tmp_path / f"run{px}"
        out.mkdir()
        files[px] = {p.name: digest(p) for p in write_profile_rasters(out, cov, cov.grid)}
    assert files[64] == files[10**6] and len(files[64]) >= 5


def test_band_and_description_counts_must_match(tmp_path):
    cov = _coverage(7)
    band = TiledBand(np.dtype("float32"), lambda w: cov.p_cover[w.slices])
    with pytest.raises(ValueError, match="2 bands, 1 descriptions"):
        write_cog(tmp_path / "x.tif", [band, band], cov.grid, ["p_cover"])


def test_cogs_written_at_once_equal_one_after_the_other(monkeypatch, tmp_path):
    """write_profile_rasters writes its COGs on several threads (write_cogs): the same
    files, byte for byte and in the same order, as on one; a failing write raises its
    own error, and the other files are still written whole."""
    cov = _coverage(7)
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    files = {}
    for workers in (1, 4):
        monkeypatch.setattr(rasters, "WRITE_WORKERS", workers)
        out = tmp_path / f"w{workers}"
        out.mkdir()
        files[workers] = [(p.name, digest(p)) for p in write_profile_rasters(out, cov, cov.grid)]
    assert files[1] == files[4] and len(files[4]) == 10  # five COGs, five styles
    band = TiledBand(np.dtype("float32"), lambda w: cov.p_cover[w.slices])
    jobs = [dict(path=tmp_path / f"{k}.tif", bands=[band], grid=cov.grid, descriptions=["p"])
            for k in range(3)]
    jobs[1]["descriptions"] = ["p", "q"]
    with pytest.raises(ValueError, match="1.tif: 1 bands, 2 descriptions"):
        rasters.write_cogs(jobs)
    for k in (0, 2):
        with rasterio.open(tmp_path / f"{k}.tif") as src:
            assert np.array_equal(src.read(1), cov.p_cover, equal_nan=True)
    assert not (tmp_path / "1.tif").exists()


def test_cog_deflate_level_sets_the_compression_not_the_values(monkeypatch, tmp_path):
    """COG_DEFLATE_LEVEL reaches GDAL (a higher level makes a smaller file of a smooth
    signal band at 0.01 dB) and every level reads back the same values, as a valid COG."""
    cov = _coverage(7)
    rows, cols = np.mgrid[0:cov.grid.height, 0:cov.grid.width]
    band = np.round(-90.0 + 20.0 * np.sin(cols / 30.0) * np.cos(rows / 25.0), 2)
    band = band.astype("float32")
    sizes = {}
    for level in (1, 9):
        monkeypatch.setattr(rasters, "COG_DEFLATE_LEVEL", level)
        path = write_cog(tmp_path / f"l{level}.tif", [band], cov.grid, ["signal_dl_dbm"])
        sizes[level] = path.stat().st_size
        with rasterio.open(path) as src:
            assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
            assert src.compression.name == "deflate"
            assert np.array_equal(src.read(1), band)
    assert sizes[9] < sizes[1]
