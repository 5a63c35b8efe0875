"""CPTS registers: the generated demo register, the thesis case studies, imported real registers.

Every producer returns a :class:`RegisterData` whose frames have exactly the columns of the matching
tables in :mod:`observatory.schema`, so the build and the importer write them the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass
class RegisterData:
    register: pd.DataFrame  # one row, columns of `registers`
    cpts: pd.DataFrame  # columns of `cpts`
    cpts_communes: pd.DataFrame  # columns of `cpts_communes`
    cpts_missions: pd.DataFrame  # columns of `cpts_missions`
    cpts_geometries: pd.DataFrame  # columns of `cpts_geometries` (empty for case studies)
