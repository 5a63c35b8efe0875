"""Demo campaigns (fictitious, flagged ``is_demo``): a few CPTS of a demo register get a campaign with
several members of different professions, so that a presenter can show split items, the consensus and
the improvement plan with no preparation.

Nothing here is real. Members' answers start from the CPTS's latest demo assessment and differ the way
a team's answers differ: each member moves some answers one step, and on a few questions the professions
see things differently (shared medical records, the collective's dynamics, compensation of lost activity),
which is what the « avis partagés » rule is there to show. Everything is seeded from the CPTS id through
SHA-256 (:func:`observatory.demo_assessments._rng`), so two loads give the same data.

The first chosen CPTS also gets last year's campaign, closed with a consensus (its own submitted
assessment) and two actions, so the plan's follow-up (« prévu et ce qui a bougé ») shows at once.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd

from observatory.campaign_store import CampaignStore
from observatory.campaigns import Action, Identity, Response, load_campaign_rules
from observatory.demo_assessments import _rng
from observatory.instrument import Instrument, ScoringModel, latest_scoring_version, load_instrument, load_scoring_model
from observatory.scoring import drop_non_applicable, score_assessment, validate_answers, weakest_subdimensions

DEMO_CAMPAIGNS = 3
# (display name, profession, role in the CPTS): fictitious people, said to be so in their names.
TEAM = (
    ("Claire Morel (démo)", "coordinateur", "coordination"),
    ("Dr Karim Benali (démo)", "medecin", "presidence"),
    ("Inès Laurent (démo)", "infirmier", "bureau"),
    ("Paul Nguyen (démo)", "pharmacien", "adherent"),
    ("Sophie Garnier (démo)", "masseur_kinesitherapeute", "adherent"),
)
# Where professions see things differently in the demo (the thesis heard only physicians, section 5).
PROFESSION_VIEWS = {
    "medecin": {"Q22": "q22_oui", "Q30": "q30_tres_importante", "Q16": "q16_egale"},
    "infirmier": {"Q22": "q22_non", "Q30": "q30_faible", "Q16": "q16_differente"},
    "pharmacien": {"Q22": "q22_non", "Q30": "q30_moyenne", "Q16": "q16_non"},
    "masseur_kinesitherapeute": {"Q30": "q30_faible"},
}


def _chosen(profiles: pd.DataFrame) -> list[str]:
    """CPTS in operation first (ACI signed), then others, by id: up to ``DEMO_CAMPAIGNS``."""
    ordered = profiles.assign(_aci=profiles["stage_code"].eq("aci").fillna(False)).sort_values(["_aci", "cpts_id"],
                                                                                              ascending=[False, True])
    return ordered["cpts_id"].astype(str).head(DEMO_CAMPAIGNS).tolist()


def _member_answers(base: dict[str, Any], cpts_id: str, identity: Identity, instrument: Instrument,
                    model: ScoringModel) -> dict[str, Any]:
    """A member's answers: the team's base answers, a few moved one step, the profession's own views."""
    answers = dict(base)
    for q in instrument.questions:
        rule, value = model.rule(q.id), answers.get(q.id)
        rng = _rng("member", cpts_id, identity.identity_id, q.id)
        if value is None or rng.random() > 0.2:
            continue
        if q.kind == "single" and rule.is_scored and rule.points and q.id != "Q2":
            order = sorted((p, o) for o, p in rule.points.items() if p is not None)
            index = [o for _, o in order].index(value) if value in [o for _, o in order] else None
            if index is not None:
                answers[q.id] = order[max(0, min(len(order) - 1, index + rng.choice((-1, 1))))][1]
        elif q.kind == "multiple" and isinstance(value, list) and rule.rule == "share":
            extra = [o for o in rule.relevant if o not in value and not q.option(o).allows_text]
            if extra and not set(value) & q.exclusive_option_ids and rng.random() < 0.5:
                answers[q.id] = [*value, rng.choice(extra)]
            elif len(value) > 1:
                answers[q.id] = value[:-1]
    for qid, option in PROFESSION_VIEWS.get(identity.profession, {}).items():
        answers[qid] = option
    for key, qid in instrument.precision_keys.items():  # keep precisions consistent with the moved answers
        if key.endswith("_done") and isinstance(answers.get(key), list):
            answers[key] = [o for o in answers[key] if o in (answers.get(qid) or [])]
    answers = drop_non_applicable(instrument, answers)
    bad = {e.key for e in validate_answers(instrument, answers)}
    return {k: v for k, v in answers.items() if k not in bad}


def generate_demo_campaigns(store: CampaignStore, profiles: pd.DataFrame, as_of: date) -> dict[str, list]:
    """Identities, campaign records, responses, actions and consensus assessments (not yet written)."""
    model = load_scoring_model(latest_scoring_version())
    instrument = load_instrument(model.instrument_version)
    rules = load_campaign_rules()
    out: dict[str, list] = {"identities": [], "campaigns": [], "responses": [], "actions": [], "assessments": []}
    names = dict(zip(profiles["cpts_id"].astype(str), profiles["name"].astype(str), strict=True))
    registers = dict(zip(profiles["cpts_id"].astype(str), profiles["register_id"].astype(str), strict=True))
    at = datetime(as_of.year, as_of.month, as_of.day, 9, 0)
    for n, cpts_id in enumerate(_chosen(profiles)):
        latest = store.base.latest_submitted(cpts_id)
        if latest is None or not instrument.accepts_answers_of(latest.instrument_version):
            continue
        base = {k: v for k, v in latest.answers.items() if k in instrument.question_ids or k in instrument.precision_keys
                or k.endswith("_other")}
        team = [Identity(f"demo-id-{cpts_id}-{k}", cpts_id, name, prof, role, None, at - timedelta(days=400), True)
                for k, (name, prof, role) in enumerate(TEAM)]
        out["identities"] += team
        plans = [(f"Auto-évaluation {as_of.year}", at - timedelta(days=20), None, team[1:])]
        if n == 0:
            plans.append((f"Auto-évaluation {as_of.year - 1}", at - timedelta(days=380), at - timedelta(days=350), team[:3]))
        for title, opened, closed, members in plans:
            campaign_id = f"demo-camp-{cpts_id}-{opened:%Y%m%d}"
            for k, member in enumerate(members):
                answers = _member_answers(base, f"{cpts_id}|{opened:%Y}", member, instrument, model)
                when = opened + timedelta(days=2 + k)
                out["responses"].append(Response(f"{campaign_id}|{member.identity_id}", campaign_id, member.identity_id,
                                                 answers, "submitted", 1, when, when))
            record = {"campaign_id": campaign_id, "cpts_id": cpts_id, "cpts_name": names[cpts_id], "register_id": registers[cpts_id],
                      "title": title, "status": "open" if closed is None else "closed", "instrument_version": instrument.version,
                      "coordinator_identity_id": team[0].identity_id, "opened_at": opened, "closed_at": closed,
                      "consensus_json": None, "consensus_revision": 0, "assessment_id": None, "updated_at": closed or opened,
                      "is_demo": True}
            if closed is not None:
                # last year's consensus: the team's answers, a little less advanced than today's
                agreed = _member_answers(base, f"{cpts_id}|consensus", team[0], instrument, model)
                agreed["Q22"] = "q22_non"
                agreed.pop("Q36_done", None)
                result = score_assessment(instrument, model, agreed, strict=True, today=closed.date())
                assessment_id = f"demo-consensus-{campaign_id}"
                record.update(consensus_json=json.dumps(agreed, ensure_ascii=False), consensus_revision=1, assessment_id=assessment_id)
                out["assessments"].append({
                    "assessment_id": assessment_id, "cpts_id": cpts_id, "cpts_name": names[cpts_id], "register_id": registers[cpts_id],
                    "instrument_version": instrument.version, "scoring_version": model.version, "answers": agreed,
                    "scores": result.to_dict(), "submitted_at": closed, "created_at": opened, "revision": 1,
                    "author": f"{team[0].display_name} (consensus de {len(members)} répondants)", "is_demo": True,
                    "campaign_id": campaign_id})
                weakest = weakest_subdimensions(result, instrument, 1)
                weak_sub = weakest[0].subdimension_id if weakest else "systeme_information"
                out["actions"] += [
                    Action(f"demo-act-{campaign_id}-1", cpts_id, campaign_id, "systeme_information", "Q22", "avis_partages",
                           "Choisir un outil commun de partage des dossiers", team[2].display_name, (closed + timedelta(days=180)).date(),
                           "Comparer deux messageries sécurisées avec les infirmiers et les pharmaciens ; budget ACI.", "fait",
                           closed, closed, 1, True),
                    Action(f"demo-act-{campaign_id}-2", cpts_id, campaign_id, weak_sub, None, "faible",
                           rules.weak_title.format(label=instrument.subdimension(weak_sub).label), team[0].display_name,
                           (closed + timedelta(days=300)).date(), instrument.subdimension(weak_sub).what_matters, "en_cours",
                           closed, closed, 1, True),
                ]
            out["campaigns"].append(record)
    return out


def ensure_demo_campaigns(store: CampaignStore, profiles: pd.DataFrame, as_of: date) -> int:
    """Idempotent: writes nothing when the generated demo campaigns are already stored; otherwise replaces
    every demo campaign (identities, responses, actions and consensus assessments included)."""
    generated = generate_demo_campaigns(store, profiles, as_of)
    if {c["campaign_id"] for c in generated["campaigns"]} == store.demo_campaign_ids():
        return 0
    return store.replace_demo_campaigns(generated["identities"], generated["campaigns"], generated["responses"],
                                        generated["actions"], generated["assessments"])
