"""``python -m observatory users …`` and ``python -m observatory audit …``: the administrators' command line.

Passwords are never given as arguments (they would stay in the shell history and the process list):
they are asked twice at the terminal, or read from the standard input with ``--password-stdin``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from observatory import accounts as ac
from observatory import audit, config, exports
from observatory.userdb import UserDatabase, UserDataError


def add_parsers(sub) -> None:
    users = sub.add_parser("users", help="comptes : créer, réinitialiser un mot de passe, changer un rôle, lister")
    actions = users.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="crée un compte")
    add.add_argument("login")
    add.add_argument("--name", required=True, help="nom affiché")
    _role_arguments(add)
    _password_argument(add)
    reset = actions.add_parser("reset-password", help="nouveau mot de passe (les sessions ouvertes sont fermées)")
    reset.add_argument("login")
    _password_argument(reset)
    role = actions.add_parser("set-role", help="change le rôle et son périmètre (les sessions ouvertes sont fermées)")
    role.add_argument("login")
    _role_arguments(role)
    for name, text in (("disable", "désactive un compte"), ("enable", "réactive un compte")):
        actions.add_parser(name, help=text).add_argument("login")
    actions.add_parser("list", help="liste les comptes")

    log = sub.add_parser("audit", help="journal d'audit : vérifier la chaîne d'empreintes, exporter")
    log_actions = log.add_subparsers(dest="action", required=True)
    log_actions.add_parser("verify", help="recalcule la chaîne d'empreintes du journal")
    export = log_actions.add_parser("export", help="exporte le journal (CSV pour Excel)")
    export.add_argument("file", type=Path)


def _role_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--role", required=True, choices=sorted(ac.ROLES), help="rôle du compte")
    parser.add_argument("--region", action="append", default=[], help="lecteur régional : code INSEE de région (répétable)")
    parser.add_argument("--cpts", action="append", default=[], help="coordinateur ou membre : identifiant de la CPTS")


def _password_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--password-stdin", action="store_true", help="lit le mot de passe sur l'entrée standard")


def _password(args) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Mot de passe : ")
    if getpass.getpass("Mot de passe (confirmation) : ") != first:
        raise ac.AccountError("les deux saisies du mot de passe diffèrent")
    return first


def _open() -> ac.Accounts:
    """The accounts of the user-data store; opening the store creates or migrates the whole user schema."""
    from observatory.assessments import AssessmentStore

    return ac.Accounts(AssessmentStore(config.user_data_location()).db)


def run(args) -> int:
    try:
        store = _open()
        db = store.db
    except UserDataError as exc:
        print(f"Refusé : {exc}", file=sys.stderr)
        return 1
    try:
        if args.command == "users":
            return _users(store, args)
        return _audit(db, args)
    except UserDataError as exc:
        print(f"Refusé : {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()


def _users(store: ac.Accounts, args) -> int:
    if args.action == "add":
        identity = store.create_user(args.login, args.name, _password(args), args.role, regions=args.region,
                                     cpts_ids=args.cpts)
        print(f"Compte « {args.login.strip().lower()} » créé : {identity.role_label}.")
    elif args.action == "reset-password":
        store.reset_password(args.login, _password(args))
        print("Mot de passe changé ; les sessions ouvertes de ce compte sont fermées.")
    elif args.action == "set-role":
        store.set_role(args.login, args.role, regions=args.region, cpts_ids=args.cpts)
        print(f"Rôle changé : {ac.ROLES[args.role]} ; les sessions ouvertes de ce compte sont fermées.")
    elif args.action in ("disable", "enable"):
        store.set_active(args.login, args.action == "enable")
        print("Compte réactivé." if args.action == "enable" else "Compte désactivé ; ses sessions sont fermées.")
    else:
        for user in store.list_users():
            scope = user["regions"] or user["cpts_ids"] or "—"
            state = "actif" if user["is_active"] else "désactivé"
            print(f"{user['login']:<30} {ac.ROLES.get(user['role'], user['role']):<30} {scope:<20} {state}")
    return 0


def _audit(db: UserDatabase, args) -> int:
    if args.action == "verify":
        intact, message = audit.verify_chain(db)
        print(message)
        return 0 if intact else 2
    args.file.write_bytes(exports.csv_bytes(audit.as_frame(audit.entries(db, limit=1_000_000))))
    print(f"Journal exporté : {args.file}")
    return 0


def audit_command(action: str, target: str, outcome: str, detail: str) -> None:
    """Record a command-line operation (imports) in the audit log of the user data, as the OS account that ran
    it. Never fails the command: a log that cannot be written is reported on the terminal."""
    actor = f"ligne de commande ({getpass.getuser()})"
    try:
        store = _open()
        db = store.db
        db.write(lambda cursor: audit.append(db, cursor, store.clock(), action, outcome, actor_label=actor,
                                             target=target, detail=detail))
        db.close()
    except (UserDataError, OSError) as exc:
        print(f"Journal d'audit non écrit : {exc}", file=sys.stderr)
