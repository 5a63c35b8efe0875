"""The access rules, table-driven: every role against demo, own, same-région and other CPTS."""

from __future__ import annotations

import pytest

from observatory import access
from observatory.accounts import ADMIN, ANONYMOUS, COORDINATOR, MEMBER, REGIONAL, Caller

OWN = access.CptsFacts("import-paca-001", "93", False)
SAME_REGION = access.CptsFacts("import-paca-002", "93", False)
OTHER_REGION = access.CptsFacts("import-ara-001", "84", False)
DEMO = access.CptsFacts("demo-0001", "93", True)

CALLERS = {
    "public": ANONYMOUS,
    "membre": Caller("u1", "Membre", MEMBER, cpts_ids=(OWN.cpts_id,)),
    "coordinateur": Caller("u2", "Coordinatrice", COORDINATOR, cpts_ids=(OWN.cpts_id,)),
    "ars": Caller("u3", "ARS PACA", REGIONAL, regions=("93",)),
    "admin": Caller("u4", "Admin", ADMIN),
}
ALL = set(CALLERS)

# rule -> CPTS -> callers allowed
EXPECTED = {
    "sees_individual": {OWN: {"membre", "coordinateur", "admin"}, SAME_REGION: {"admin"}, OTHER_REGION: {"admin"},
                        DEMO: ALL},
    "sees_individual_shared": {OWN: {"membre", "coordinateur", "admin", "ars"}, SAME_REGION: {"admin", "ars"},
                               OTHER_REGION: {"admin"}, DEMO: ALL},
    "may_answer": {OWN: {"membre", "coordinateur"}, SAME_REGION: set(), OTHER_REGION: set(), DEMO: ALL},
    "may_submit": {OWN: {"coordinateur"}, SAME_REGION: set(), OTHER_REGION: set(), DEMO: ALL},
    "may_lead": {OWN: {"coordinateur", "admin"}, SAME_REGION: {"admin"}, OTHER_REGION: {"admin"}, DEMO: ALL},
    "may_share": {OWN: {"coordinateur"}, SAME_REGION: set(), OTHER_REGION: set(), DEMO: set()},
    "counts_in_aggregates": {OWN: ALL - {"public"}, SAME_REGION: ALL - {"public"}, OTHER_REGION: ALL - {"public"},
                             DEMO: ALL},
}
RULES = {
    "sees_individual": lambda c, f: access.sees_individual(c, f),
    "sees_individual_shared": lambda c, f: access.sees_individual(c, f, shared_with_ars=True),
    "may_answer": access.may_answer,
    "may_submit": access.may_submit,
    "may_lead": access.may_lead,
    "may_share": access.may_share,
    "counts_in_aggregates": access.counts_in_aggregates,
}


@pytest.mark.parametrize("rule", list(EXPECTED))
@pytest.mark.parametrize("facts", [OWN, SAME_REGION, OTHER_REGION, DEMO], ids=["propre", "meme-region", "autre-region", "demo"])
def test_rule_table(rule, facts):
    allowed = {name for name, caller in CALLERS.items() if RULES[rule](caller, facts)}
    assert allowed == EXPECTED[rule][facts]


def test_regional_synthesis_scope():
    assert access.sees_region(CALLERS["ars"], "93") and not access.sees_region(CALLERS["ars"], "84")
    assert not access.sees_region(CALLERS["ars"], None)  # France: not the région's viewer's
    assert access.sees_region(CALLERS["admin"], None)
    assert not any(access.sees_region(CALLERS[n], "93") for n in ("public", "membre", "coordinateur"))


def test_an_unknown_cpts_is_never_public():
    facts = access.Directory([]).facts("custom:xyz")
    assert not facts.is_demo and not access.sees_individual(ANONYMOUS, facts)
