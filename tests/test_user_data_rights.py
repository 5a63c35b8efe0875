"""Every data function of the user-data door, called as each role: what must not be visible or writable is
not, on both backends. Denied writes leave nothing in the store but a line in the audit log."""

from __future__ import annotations

import datetime as dt

import pytest

from observatory import access, audit
from observatory.accounts import ADMIN, ANONYMOUS, COORDINATOR, MEMBER, REGIONAL, Caller
from observatory.assessments import AssessmentStore
from observatory.campaign_store import CampaignStore
from observatory.user_data import UserData
from tests import profile_fixtures as pfx

OWN, SHARED, OTHER, DEMO = "import-test-001", "import-test-002", "import-ara-001", "demo-0001"
DIRECTORY = access.Directory([access.CptsFacts(OWN, "93", False), access.CptsFacts(SHARED, "93", False),
                              access.CptsFacts(OTHER, "84", False), access.CptsFacts(DEMO, "93", True)])
CALLERS = {
    "public": ANONYMOUS,
    "membre": Caller("u1", "Membre", MEMBER, cpts_ids=(OWN,)),
    "coordinateur": Caller("u2", "Coordinatrice", COORDINATOR, cpts_ids=(OWN,)),
    "ars": Caller("u3", "ARS PACA", REGIONAL, regions=("93",)),
    "admin": Caller("u4", "Admin", ADMIN),
}


@pytest.fixture()
def stores(user_location):
    store = AssessmentStore(user_location)
    when = dt.datetime(2025, 3, 1, 9, 0)
    for cpts_id in (OWN, SHARED, OTHER, DEMO):
        answers = pfx.full_answers(cpts_id, when.date())
        draft = store.save_draft(cpts_id, answers, None, cpts_name=cpts_id, is_demo=cpts_id == DEMO)
        store.submit(cpts_id, draft.revision, submitted_at=when)
    store.set_shared(store.latest_submitted(SHARED).assessment_id, True)
    yield store, CampaignStore(store)
    store.db.close()


def door(stores, who: str) -> UserData:
    store, campaigns = stores
    return UserData(CALLERS[who], store, campaigns, DIRECTORY)


def visible(data: UserData, cpts_id: str) -> bool:
    try:
        return bool(data.history(cpts_id))
    except access.AccessDenied:
        return False


@pytest.mark.parametrize(
    ("cpts_id", "allowed"),
    [(OWN, {"membre", "coordinateur", "admin"}), (SHARED, {"ars", "admin"}), (OTHER, {"admin"}),
     (DEMO, set(CALLERS))],
)
def test_who_sees_a_cpts_assessments(stores, cpts_id, allowed):
    assert {who for who in CALLERS if visible(door(stores, who), cpts_id)} == allowed


@pytest.mark.parametrize(
    ("operation", "allowed"),
    [
        ("save_draft", {"membre", "coordinateur"}),
        ("submit", {"coordinateur"}),
        ("open_campaign", {"coordinateur", "admin"}),
        ("add_action", {"coordinateur", "admin"}),
        ("set_shared", {"coordinateur"}),
        ("add_custom_cpts", {"admin"}),
    ],
)
def test_who_writes_for_a_real_cpts(stores, operation, allowed):
    store, campaigns = stores
    answers = pfx.full_answers(OWN, dt.date(2025, 6, 1))
    lead = campaigns.add_identity(OWN, "Claire Coordinatrice", "coordinateur", "coordination")
    assessment_id = store.latest_submitted(OWN).assessment_id
    calls = {
        # force: two allowed callers in a row would otherwise (rightly) conflict on the same draft
        "save_draft": lambda d: d.save_draft(OWN, answers, None, cpts_name=OWN, force=True),
        "submit": lambda d: d.submit(OWN, d.save_draft(OWN, answers, None, cpts_name=OWN, force=True).revision)
        if d.can_answer(OWN) else d.submit(OWN, 1),
        "open_campaign": lambda d: d.open_campaign(OWN, "Campagne 2026", lead),
        "add_action": lambda d: d.add_action(OWN, "gouvernance", "Réunir le bureau", "Claire"),
        "set_shared": lambda d: d.set_shared(assessment_id, True),
        "add_custom_cpts": lambda d: d.add_custom_cpts("CPTS ajoutée"),
    }
    succeeded = set()
    for who in CALLERS:
        before = audit.entries(store.db, actions=["access_denied"])
        try:
            calls[operation](door(stores, who))
            succeeded.add(who)
        except access.AccessDenied as refused:
            assert str(refused).startswith("Accès réservé")
            assert len(audit.entries(store.db, actions=["access_denied"])) == len(before) + 1  # the refusal is logged
    assert succeeded == allowed


def test_peer_results_never_below_five_other_cpts(stores):
    store, _ = stores
    data = door(stores, "membre")
    assert data.peer_results([SHARED, OTHER, DEMO], own_cpts_id=OWN) == []  # 3 others: nothing at all
    ids = [f"import-peer-{i}" for i in range(5)]
    when = dt.datetime(2025, 3, 2, 9, 0)
    for cpts_id in ids:
        draft = store.save_draft(cpts_id, pfx.full_answers(cpts_id, when.date()), None, cpts_name=cpts_id)
        store.submit(cpts_id, draft.revision, submitted_at=when)
    assert len(data.peer_results([*ids, OWN], own_cpts_id=OWN)) == 5  # the viewer's own CPTS never counts
    assert data.peer_results([*ids[:4], OWN], own_cpts_id=OWN) == []
    public = door(stores, "public")
    assert public.peer_results(ids, own_cpts_id=None) == []  # real CPTS never enter the public's aggregates


def test_the_public_answers_and_submits_only_demo_cpts(stores):
    data = door(stores, "public")
    draft = data.save_draft(DEMO, pfx.full_answers(DEMO, dt.date(2025, 6, 1)), None, cpts_name=DEMO, is_demo=True)
    assert data.submit(DEMO, draft.revision).is_demo
    with pytest.raises(access.AccessDenied):
        data.load_draft(OWN)
    assert data.assessed_cpts() == {DEMO: True}
