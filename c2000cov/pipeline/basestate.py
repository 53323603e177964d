"""The base run's best-server reduction, kept in the loss cache for what-ifs.

A what-if that only adds masts is the base run with those masts folded in
last: outside their windows every pixel keeps the base's value, inside them
:meth:`c2000cov.analysis.coverage.BestServer.update` folds the new masts onto
the base's reduction exactly as the full fold would (masts-file order, new
masts at the end). So a run stores what its reduction left per noise state
and profile (the bands of :class:`~c2000cov.analysis.coverage.BestServer`,
restored bit for bit from the finished coverage), its uplink interference
table and its per-area table; :mod:`c2000cov.pipeline.whatif` reads them back
instead of reading and folding every mast again.

The entries are keyed by a digest of every input of the run (scenario, grid,
surface, masts, patterns, PV, areas, roads, population, calibration), the
compute device and the source code of the package: any change of input or
code gives another key, so a stale reduction is never reused.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from c2000cov.analysis.areas import AreaWeights, area_weights, to_grid_crs
from c2000cov.analysis.coverage import BestServer, ProfileCoverage
from c2000cov.analysis.result import RunResult
from c2000cov.files.spill import release_pages
from c2000cov.geo.grid import Window
from c2000cov.pipeline.cache import LossCache, array_key
from c2000cov.pipeline.inputs import Inputs

#: The bands of a reduction that a what-if needs, with their dtypes.
STATE_BANDS = (("margin_dl_db", "float32"), ("margin_ul_db", "float32"),
               ("second_margin_db", "float32"), ("server", "int16"),
               ("signal_dl_dbm", "float32"), ("n_at_target", "uint8"))
#: The bands the best margin is derived from (always read).
MARGIN_BANDS = ("margin_dl_db", "margin_ul_db", "server")
#: Noise states as the run names them: the configured state first, then night.
STATE_NAMES = ("main", "night")
_FORMAT = "c2000cov-base-state/1"
#: Sub-folder of the loss cache that holds the stored reductions (apart from loss windows).
BASE_STATE_DIR = "base_state"


def code_digest() -> str:
    """SHA-256 of the package's Python sources (``c2000cov`` and ``c2000cov.kernels``)."""
    import c2000cov
    import c2000cov.kernels

    h = hashlib.sha256()
    roots = {Path(c2000cov.__file__).parent, Path(c2000cov.kernels.__file__).parent}
    for root in sorted(roots):
        for path in sorted(root.rglob("*.py")):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()


def _feed(h, obj) -> None:
    """Feed ``obj`` (arrays, frames, dataclasses, containers, scalars) into the hash."""
    if obj is None or isinstance(obj, bool | int | float | str | Path):
        h.update(json.dumps(obj if not isinstance(obj, Path) else str(obj)).encode())
    elif isinstance(obj, np.ndarray):
        arr = np.ascontiguousarray(obj)
        h.update(f"nd{arr.dtype.str}{arr.shape}".encode())
        h.update(arr.reshape(-1).view("uint8"))  # the same bytes as tobytes(), not copied
    elif isinstance(obj, pd.DataFrame):
        h.update(f"df{list(map(str, obj.columns))}{[str(t) for t in obj.dtypes]}".encode())
        for col in obj.columns:
            values = obj[col]
            if hasattr(values, "to_wkb"):  # a geometry column
                for wkb in values.to_wkb():
                    h.update(b"\x00" if wkb is None else wkb)
            else:
                _feed(h, pd.util.hash_pandas_object(values, index=False).to_numpy())
        _feed(h, pd.util.hash_pandas_object(obj.index).to_numpy())
        crs = getattr(obj, "crs", None)
        h.update(str(crs.to_wkt() if crs is not None else None).encode())
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        h.update(type(obj).__name__.encode())
        for f in dataclasses.fields(obj):
            h.update(f.name.encode())
            _feed(h, getattr(obj, f.name))
    elif isinstance(obj, dict):
        for k in sorted(obj, key=str):
            h.update(str(k).encode())
            _feed(h, obj[k])
    elif isinstance(obj, list | tuple):
        h.update(f"seq{len(obj)}".encode())
        for v in obj:
            _feed(h, v)
    else:  # CRS, Affine and other small values: their text
        h.update(f"{type(obj).__name__}:{obj!r}".encode())


def base_key(inputs: Inputs, device: dict | None) -> str:
    """Key of a run's reduction: every input, the device and the code.

    The ``[output]`` and ``[report]`` sections and the parameter origins do not
    change a reduction and are left out, so ``run --out`` and a what-if agree.
    """
    h = hashlib.sha256(_FORMAT.encode())
    scen = dataclasses.replace(inputs.scenario, output=None, report=None, origins={})
    for part in (scen, inputs.grid.crs.to_wkt(), list(inputs.grid.transform)[:6],
                 inputs.grid.shape, inputs.surface, inputs.masts, inputs.patterns, inputs.pv,
                 inputs.areas, inputs.roads, inputs.population, inputs.calibration, device,
                 code_digest()):
        _feed(h, part)
    return h.hexdigest()


def best_server_of(cov: ProfileCoverage) -> BestServer:
    """The reduction a finished coverage came from, bit for bit.

    :func:`~c2000cov.analysis.coverage.finish` keeps the margins and the runner-up
    unchanged and masks server, signal and count only where no mast can reach
    (margins are NaN there), and the best margin is the minimum of the best
    server's two directions (-inf where none serves).
    """
    served = cov.server >= 0
    margin = np.where(served, np.fmin(cov.margin_dl_db, cov.margin_ul_db),
                      -np.inf).astype("float32")
    return BestServer(margin, cov.second_margin_db.astype("float32", copy=True),
                      cov.margin_dl_db.astype("float32", copy=True),
                      cov.margin_ul_db.astype("float32", copy=True),
                      cov.server.astype("int16", copy=True),
                      cov.signal_dl_dbm.astype("float32", copy=True),
                      cov.n_at_target.astype("uint8", copy=True))


def _put_frame(cache: LossCache, key: str, df: pd.DataFrame) -> None:
    cols = list(df.columns)
    cache.put(array_key(key, "columns"), np.array(cols, dtype=str))
    cache.put(array_key(key, "dtypes"), np.array([str(t) for t in df.dtypes], dtype=str))
    for col in cols:
        values = df[col].to_numpy()
        if values.dtype == object:
            values = np.array(["\x00" if v is None or (isinstance(v, float) and np.isnan(v))
                               else str(v) for v in values], dtype=str)
        cache.put(array_key(key, "column", col), values)


def _get_frame(cache: LossCache, key: str) -> pd.DataFrame | None:
    cols, dtypes = cache.get(array_key(key, "columns")), cache.get(array_key(key, "dtypes"))
    if cols is None or dtypes is None:
        return None
    data = {}
    for col, dtype in zip(cols.tolist(), dtypes.tolist(), strict=True):
        values = cache.get(array_key(key, "column", col))
        if values is None:
            return None
        if dtype == "object":
            values = np.array([None if v == "\x00" else v for v in values.tolist()], dtype=object)
        data[col] = values.astype(dtype, copy=False)
    return pd.DataFrame(data, columns=cols)


@dataclasses.dataclass
class BaseState:
    """What a what-if reads of its base run."""

    best: dict[tuple[str, str], BestServer]  # (noise state, profile)
    area_table: pd.DataFrame
    uplink_masts: pd.DataFrame | None = None
    uplink_contributions: pd.DataFrame | None = None


def store_base_state(result: RunResult, cache: LossCache) -> str | None:
    """Keep a run's reduction, uplink table and area table in ``cache``; returns the key."""
    if not cache.folder or result.area_table is None:
        return None
    cache = LossCache(cache.folder / BASE_STATE_DIR)
    key = base_key(result.inputs, result.device)
    states = [(STATE_NAMES[0], result.coverage)]
    if result.night is not None:
        states.append((STATE_NAMES[1], result.night))
    for state, covs in states:
        for profile, cov in covs.items():
            # the stored bands are the coverage's own (best_server_of copies them and adds
            # margin_db, which is not stored): written as they are, no grid-sized copy
            for band, dtype in STATE_BANDS:
                arr = np.asarray(getattr(cov, band), dtype=dtype)
                cache.put(array_key(key, state, profile, band), arr)
                release_pages(arr)  # a band held in a spill file: read once, not kept
    _put_frame(cache, array_key(key, "area_table"), result.area_table)
    up = result.interference.uplink if result.interference is not None else None
    if up is not None:
        _put_frame(cache, array_key(key, "uplink_masts"), up.masts)
        _put_frame(cache, array_key(key, "uplink_contributions"), up.contributions)
    cache.put(array_key(key, "complete"), np.array([len(states)], dtype="int64"))
    return key


def load_base_state(inputs: Inputs, device: dict | None, cache: LossCache,
                    with_uplink: bool, n_states: int | None = None,
                    bands: tuple[str, ...] | None = None) -> BaseState | None:
    """The stored reduction of the run of ``inputs``, or None when it is not (wholly) kept.

    ``n_states`` reads only the first noise states (1: the configured state, not
    night); ``bands`` only those of :data:`STATE_BANDS` (the best margin is always
    derived), the others are None.
    """
    if not cache.folder or not (cache.folder / BASE_STATE_DIR).is_dir():
        return None
    cache = LossCache(cache.folder / BASE_STATE_DIR)
    key = base_key(inputs, device)
    done = cache.get(array_key(key, "complete"), dtype="int64")
    if done is None:
        return None
    shape = inputs.grid.shape
    best = {}
    for state in STATE_NAMES[:min(int(done[0]), n_states or len(STATE_NAMES))]:
        for profile in inputs.scenario.profiles:
            read = {}
            for band, dtype in STATE_BANDS:
                if bands is not None and band not in bands and band not in MARGIN_BANDS:
                    read[band] = None
                    continue
                arr = cache.get(array_key(key, state, profile, band), shape=shape, dtype=dtype)
                if arr is None:
                    return None
                read[band] = arr
            served = read["server"] >= 0
            margin = np.where(served, np.fmin(read["margin_dl_db"], read["margin_ul_db"]),
                              -np.inf).astype("float32")
            best[(state, profile)] = BestServer(margin_db=margin, **read)
    table = _get_frame(cache, array_key(key, "area_table"))
    if table is None:
        return None
    out = BaseState(best, table)
    if with_uplink:
        out.uplink_masts = _get_frame(cache, array_key(key, "uplink_masts"))
        out.uplink_contributions = _get_frame(cache, array_key(key, "uplink_contributions"))
        if out.uplink_masts is None or out.uplink_contributions is None:
            return None
    return out


_WEIGHTS_FORMAT = "c2000cov-area-weights/1"


def cached_area_weights(areas, grid, cache: LossCache) -> list[AreaWeights]:
    """:func:`~c2000cov.analysis.areas.area_weights`, kept in ``cache`` (``base_state/``).

    The exact pixel fractions of the areas' boundary pixels cost a polygon
    intersection each (0.6-0.7 s on the demo); they depend only on the areas
    and the grid, which key the entry with the code digest.
    """
    if not cache.folder:
        return area_weights(areas, grid)
    store = LossCache(cache.folder / BASE_STATE_DIR)
    h = hashlib.sha256(_WEIGHTS_FORMAT.encode())
    for part in (areas, grid.crs.to_wkt(), list(grid.transform)[:6], grid.shape,
                 code_digest()):
        _feed(h, part)
    key = h.hexdigest()
    count = store.get(array_key(key, "count"), dtype="int64")
    if count is not None:
        geoms = [None] if areas is None else list(to_grid_crs(areas, grid, "areas").geometry)
        out = []
        for k in range(int(count[0])):
            parts = [store.get(array_key(key, k, name)) for name in _WEIGHT_PARTS]
            if any(p is None for p in parts) or k >= len(geoms):
                break
            name, win, full, rows, cols, frac = parts
            geom = geoms[k] if areas is not None else shapely.box(*grid.bounds_m)
            out.append(AreaWeights(str(name[0]), geom, Window(*(int(v) for v in win)),
                                   full.astype(bool), rows, cols, frac))
        else:
            return out
    out = area_weights(areas, grid)
    for k, aw in enumerate(out):
        w = aw.window
        for name, arr in zip(_WEIGHT_PARTS, (
                np.array([aw.name], dtype=str),
                np.array([w.row_off, w.col_off, w.height, w.width], dtype="int64"),
                aw.full.astype("uint8"), aw.rows, aw.cols, aw.frac), strict=True):
            store.put(array_key(key, k, name), arr)
    store.put(array_key(key, "count"), np.array([len(out)], dtype="int64"))
    return out


_WEIGHT_PARTS = ("name", "window", "full", "rows", "cols", "frac")
