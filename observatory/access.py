"""Who may see and do what with user data: the rules, in one place, as pure functions.

A CPTS leader answers honestly only if the CPTS controls who sees its answers. The rules:

* **demo data is public**: demo CPTS (fictitious register) can be answered, submitted and seen by
  anyone, logged in or not — the embedded demo needs no account;
* **a CPTS's own people** (coordinator, members) see its assessments, history, campaigns and plan;
  members answer (their draft, their campaign response); only coordinators submit the CPTS's
  assessment, lead campaigns (identities, consensus), write the plan and decide what the ARS may see;
* **regional viewers** (ARS, CPAM) of a région see an individual assessment of a CPTS of their région
  only where the CPTS shared it (per assessment); otherwise only aggregates;
* **administrators** manage accounts, imports and campaigns, read the audit log, and see everything;
  they do not answer for a CPTS;
* **aggregates** (peer medians, regional synthesis, national distribution) never show fewer than
  :data:`MIN_GROUP` CPTS other than the viewer's own; the public sees aggregates of demo data only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from observatory.accounts import ADMIN, COORDINATOR, MEMBER, PUBLIC, REGIONAL, Caller
from observatory.userdb import UserDataError

MIN_GROUP = 5


class AccessDenied(UserDataError):
    """The caller may not see or do this (French message saying who may)."""


@dataclass(frozen=True)
class CptsFacts:
    """What the rules need to know of a CPTS."""

    cpts_id: str
    region_code: str | None
    is_demo: bool


class Directory:
    """cpts_id → facts, built by the app from the registers (and the CPTS added by administrators)."""

    def __init__(self, facts: Mapping[str, CptsFacts] | Iterable[CptsFacts]):
        items = facts.values() if isinstance(facts, Mapping) else facts
        self._facts = {f.cpts_id: f for f in items}

    def facts(self, cpts_id: str) -> CptsFacts:
        # A CPTS unknown to the registers is real data until proven otherwise: never public by default.
        return self._facts.get(cpts_id) or CptsFacts(cpts_id, None, False)


def _own(caller: Caller, facts: CptsFacts) -> bool:
    return caller.role in (COORDINATOR, MEMBER) and facts.cpts_id in caller.cpts_ids


def sees_individual(caller: Caller, facts: CptsFacts, shared_with_ars: bool = False) -> bool:
    """An assessment, its answers, history, campaign responses and plan."""
    if facts.is_demo or caller.role == ADMIN or _own(caller, facts):
        return True
    return caller.role == REGIONAL and facts.region_code in caller.regions and shared_with_ars


def may_answer(caller: Caller, facts: CptsFacts) -> bool:
    """Save a draft of the single-respondent questionnaire, or one's own campaign response."""
    return facts.is_demo or _own(caller, facts)


def may_submit(caller: Caller, facts: CptsFacts) -> bool:
    """Submit the CPTS's assessment (single respondent)."""
    return facts.is_demo or (caller.role == COORDINATOR and facts.cpts_id in caller.cpts_ids)


def may_lead(caller: Caller, facts: CptsFacts) -> bool:
    """Open a campaign, record who answers, set the consensus, close it; write the improvement plan."""
    return facts.is_demo or caller.role == ADMIN or (caller.role == COORDINATOR and facts.cpts_id in caller.cpts_ids)


def may_share(caller: Caller, facts: CptsFacts) -> bool:
    """Decide whether the ARS may see an assessment individually: the CPTS's coordinator only."""
    return caller.role == COORDINATOR and facts.cpts_id in caller.cpts_ids and not facts.is_demo


def may_administer(caller: Caller) -> bool:
    return caller.role == ADMIN


def counts_in_aggregates(caller: Caller, facts: CptsFacts) -> bool:
    """May this CPTS's latest result enter an aggregate the caller sees (medians, distributions)?"""
    return facts.is_demo or caller.role != PUBLIC


def sees_region(caller: Caller, region_code: str | None) -> bool:
    """The regional synthesis of a région (``None``: France) over real data."""
    if caller.role == ADMIN:
        return True
    if caller.role == REGIONAL:
        return region_code is not None and region_code in caller.regions
    return False


def denied(what: str, who: str) -> AccessDenied:
    return AccessDenied(f"Accès réservé : {what} ; {who}.")
