"""The fast coverage (observatory.coverage_timeline) gives exactly the snapshot of observatory.coverage, on
the factory registers at dates before, between and after their stages, and on random registers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from observatory import coverage as cov
from observatory import queries as q
from observatory.coverage_timeline import build_timeline, snapshot_at
from observatory.db import open_readonly
from tests.factories import DEMO_REGISTER_ID, IMPORTED_REGION, IMPORTED_REGISTER_ID, make_analytical_db

DATES = ["2018-01-01", "2020-12-01", "2021-03-01", "2021-05-01", "2022-03-01", "2023-01-15", "2024-06-30"]


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    con = open_readonly(make_analytical_db(tmp_path_factory.mktemp("timeline") / "observatoire.duckdb"))
    out = {
        "units": q.territorial_units(con),
        "demo": (q.list_cpts(con, DEMO_REGISTER_ID), q.cpts_units(con, DEMO_REGISTER_ID), None),
        "imported": (q.list_cpts(con, IMPORTED_REGISTER_ID), q.cpts_units(con, IMPORTED_REGISTER_ID), IMPORTED_REGION),
    }
    con.close()
    return out


def assert_same(a: cov.CoverageSnapshot, b: cov.CoverageSnapshot) -> None:
    assert a.as_of == b.as_of and a.register_region == b.register_region
    pd.testing.assert_frame_equal(a.units, b.units)
    pd.testing.assert_frame_equal(a.cpts, b.cpts)
    pd.testing.assert_frame_equal(a.links, b.links)


@pytest.mark.parametrize("which", ["demo", "imported"])
@pytest.mark.parametrize("as_of", DATES)
def test_timeline_snapshot_equals_the_direct_computation(frames, which, as_of):
    cpts, links, region = frames[which]
    timeline = build_timeline(frames["units"], cpts, links, region)
    assert_same(snapshot_at(timeline, as_of), cov.coverage_snapshot(frames["units"], cpts, links, as_of, region))


def test_overlap_lists_keep_the_most_advanced_stage_first(frames):
    cpts, links, _ = frames["demo"]
    snap = snapshot_at(build_timeline(frames["units"], cpts, links), "2024-06-30")
    row = snap.units.set_index("commune_code").loc["91001"]  # Bêta (lettre d'intention) and Gamma (ACI)
    assert row["status"] == cov.OVERLAP and row["cpts_ids"] == ("demo-test-c", "demo-test-b")
    assert row["stage_codes"] == ("aci", "lettre_intention") and row["highest_stage"] == "aci"


def test_random_registers(frames):
    """Random stage dates (some missing, some undated CPTS) and random territories, overlaps included."""
    units = frames["units"]
    rng = np.random.default_rng(7)
    codes = units["commune_code"].tolist()
    for _ in range(5):
        n = 12
        days = np.sort(rng.integers(0, 2000, size=(n, 4)), axis=1)
        dates = pd.DataFrame({column: pd.Timestamp("2019-01-01") + pd.to_timedelta(days[:, i], unit="D")
                              for i, column in enumerate(["preproject_date", "letter_of_intent_date",
                                                          "health_project_date", "aci_date"])})
        dates = dates.mask(rng.random((n, 4)) < 0.3)
        dates.iloc[0] = pd.NaT  # an undated CPTS
        cpts = pd.concat([pd.DataFrame({"cpts_id": [f"r{i:02d}" for i in range(n)],
                                        "name": [f"CPTS {chr(65 + rng.integers(0, 5))}{i}" for i in range(n)]}),
                          dates], axis=1)
        links = pd.DataFrame([(f"r{i:02d}", c) for i in range(n) for c in rng.choice(codes, 4, replace=False)],
                             columns=["cpts_id", "commune_code"])
        timeline = build_timeline(units, cpts, links)
        for as_of in ("2019-06-30", "2021-01-31", "2024-12-31"):
            assert_same(snapshot_at(timeline, as_of), cov.coverage_snapshot(units, cpts, links, as_of))
