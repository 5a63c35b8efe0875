"""The « Méthode » page's text, written from the versioned scoring model and questionnaire (never
restated by hand): how each question is scored, in French, item by item."""

from __future__ import annotations

from observatory.instrument import Question, QuestionRule, ScoringModel

RULE_LABELS = {
    "ordinal": "choix unique ordonné : des points par modalité",
    "yes_no": "question Oui / Non : 100 ou 0 point",
    "share": "cases à cocher : part pondérée des cases pertinentes cochées",
    "best_of": "cases à cocher : points de la meilleure case cochée",
    "relative_members": "adhérents rapportés aux professionnels de santé du territoire",
    "distinct_professions": "nombre de professions différentes au bureau",
}
KIND_LABELS = {
    "single": "choix unique",
    "multiple": "cases à cocher",
    "date": "date (MM/AAAA)",
    "number": "nombre",
    "per_role_text": "texte par fonction du bureau",
}


def number_text(value: float) -> str:
    """« 1 », « 0,5 », « 2,5 » (French decimal comma, no useless zeros)."""
    return f"{value:g}".replace(".", ",")


def _points(value: float | None) -> str:
    if value is None:
        return "non notée (enregistrée, exclue du calcul)"
    return f"{number_text(value)} point{'s' if value > 1 else ''}"


def rule_summary(rule: QuestionRule) -> str:
    """One line: « Notée — choix unique ordonné : des points par modalité — poids 1 », « Descriptive »
    or « Contexte »."""
    if rule.role == "context":
        return "Contexte : affichée, compte dans la complétude, jamais dans les scores"
    if not rule.is_scored:
        return "Descriptive : compte dans la complétude, jamais dans les scores"
    return f"Notée — {RULE_LABELS[rule.rule]} — poids {number_text(rule.weight)}"


def rule_details(question: Question, rule: QuestionRule) -> list[str]:
    """Bullet lines (French) detailing the points of each option or the check-box rule."""
    if not rule.is_scored:
        return []
    label = {o.id: o.label for o in question.options}
    if rule.rule == "relative_members":
        full = number_text(100 * (rule.full_share or 1))
        lines = [f"Points = 100 × min(1 ; (adhérents / professionnels du territoire) / {full} %) : note pleine quand "
                 f"{full} % des professionnels du territoire adhèrent.",
                 "Adhérents : le nombre exact s'il est précisé, sinon le milieu de la tranche : "
                 + ", ".join(f"« {label[o].strip()} » {number_text(n)}" for o, n in rule.option_members.items()) + ".",
                 "Sans nombre de professionnels du territoire : question non notée (exclue du calcul)."]
        return lines
    if rule.rule == "distinct_professions":
        steps = " ; ".join(f"{n} profession{'s' if n > 1 else ''}{' ou plus' if n == max(rule.profession_points) else ''} : "
                           f"{_points(p)}" for n, p in sorted(rule.profession_points.items()))
        return [steps, f"Professions reconnues par mots-clés : {', '.join(rule.professions)} ; un texte non reconnu compte "
                       f"pour une profession. Moins de {rule.min_roles} fonctions renseignées : non notée."]
    if rule.rule in ("ordinal", "yes_no", "best_of"):
        lines = [f"« {label[oid]} » : {_points(rule.points.get(oid))}" for oid in question.option_ids]
        if rule.rule == "best_of":
            lines.append("Plusieurs cases cochées : seule la meilleure compte ; aucune case cochée : 0 point.")
        return lines
    # share
    total = sum(rule.item_weight(o) for o in rule.relevant)
    saturation = rule.saturation or total
    by_weight: dict[float, list[str]] = {}
    for oid in rule.relevant:
        by_weight.setdefault(rule.item_weight(oid), []).append(f"« {label[oid]} »")
    lines = [f"Compte{'nt' if len(names) > 1 else ''} {number_text(w)} : {', '.join(names)}"
             for w, names in sorted(by_weight.items(), reverse=True)]
    lines.append(
        f"Points = 100 × min(somme des cases pertinentes cochées ; {number_text(saturation)}) / {number_text(saturation)}"
        + (f" : la note est pleine dès {number_text(saturation)} sur {number_text(total)} possibles." if saturation < total
           else " (note pleine quand toutes les cases pertinentes sont cochées).")
    )
    if rule.done_key:
        lines.append(f"Une case cochée mais seulement prévue (absente de la précision « {rule.done_key} ») compte "
                     f"{number_text(rule.planned_factor)} fois son poids : un projet compte moins qu'une réalisation.")
    for oid in sorted(question.exclusive_option_ids, key=question.option_ids.index):
        lines.append(f"« {label[oid]} » : 0 point ; ne peut pas être cochée avec une autre case (réponse refusée).")
    if question.empty_answer == "none_ticked":
        lines.append("Aucune case cochée : réponse « aucune », 0 point.")
    elif question.empty_answer == "unanswered":
        lines.append("Aucune case cochée : question sans réponse (pour répondre « aucun », cochez l'option prévue).")
    return lines


def band_lines(model: ScoringModel) -> list[str]:
    """« Émergente : de 0 à moins de 25 — description » for each maturity band."""
    lines = []
    for band in model.bands:
        upper = f"à moins de {number_text(band.max_exclusive)}" if band.max_exclusive is not None else "à 100"
        lines.append(f"**{band.label}** : de {number_text(band.min)} {upper} — {band.description}")
    return lines
