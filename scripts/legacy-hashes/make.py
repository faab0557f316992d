#!/usr/bin/env python3
"""Makes import files for `lanyard site import` with password hashes produced by the
reference implementations from PyPI (requirements.txt): bcrypt (`bcrypt`), PBKDF2-SHA256
(`passlib.hash.pbkdf2_sha256`) and argon2id (`argon2-cffi`). Lanyard only verifies these.

    make.py fixture DIR
        The small fixture committed in crates/sites/tests/fixtures: legacy_users.csv and
        legacy_users.json (the same eight users, every hash format, every role, two with a
        TOTP secret) and password.txt (the one password they all share).

    make.py users N FILE... [--password P] [--totp-every K] [--seed S] [--formats F,...]
                            [--cost low|realistic]
        N users (say 50, 1,000 or 100,000) into each FILE (the same users), CSV or JSON by
        its extension. The
        formats take turns (bcrypt $2b$, PBKDF2-SHA256, argon2id, bcrypt $2a$, bcrypt $2y$,
        or the --formats given, in that order);
        one user in ten is an admin, one in ten a client user; every K-th user has a TOTP
        secret (0: none). All share one password (default "legacy-password-1"), written to
        FILE.password. Hashes use LOW COSTS so that 100,000 of them take a couple of minutes:
        bcrypt cost 4, PBKDF2 1,000 rounds, argon2id m=1024 KiB t=1 p=1. With --cost
        realistic (the legacy login benchmark) they are what the libraries do by default:
        bcrypt cost 10 (PHP's and Django's default), passlib's pbkdf2_sha256 default of
        29,000 rounds, argon2-cffi's PasswordHasher() defaults (RFC 9106's low-memory
        profile: m=65536 KiB t=3 p=4). Logins, emails and
        TOTP secrets come from --seed (default 13), so the same command makes the same users
        (hash salts differ on every run).

`$2y$` is the `$2b$` algorithm under PHP's prefix: the bcrypt package makes only `$2a$` and
`$2b$`, so a `$2y$` hash here is a `$2b$` hash from the bcrypt package with the prefix
changed, exactly as PHP's crypt() would have written it.
"""

import argparse
import base64
import csv
import json
import multiprocessing
import os
import random
import sys

import argon2
import bcrypt
from passlib.hash import pbkdf2_sha256

FIXTURE_PASSWORD = "correct horse legacy 13"
FORMATS = ["bcrypt-2b", "pbkdf2", "argon2id", "bcrypt-2a", "bcrypt-2y"]
COLUMNS = ["login", "email", "role", "password_hash", "totp_secret"]


def make_hash(fmt, password, fast, realistic=False):
    pw = password.encode("utf-8")
    if fmt.startswith("bcrypt"):
        prefix = b"2a" if fmt == "bcrypt-2a" else b"2b"
        rounds = 4 if fast else 10
        hashed = bcrypt.hashpw(pw, bcrypt.gensalt(rounds=rounds, prefix=prefix)).decode()
        if fmt == "bcrypt-2y":
            hashed = "$2y$" + hashed[4:]
        return hashed
    if fmt == "pbkdf2":
        rounds = 1000 if fast else 29000
        return pbkdf2_sha256.using(rounds=rounds).hash(password)
    if fmt == "argon2id":
        if realistic:
            hasher = argon2.PasswordHasher()
        elif fast:
            hasher = argon2.PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
        else:
            hasher = argon2.PasswordHasher(time_cost=2, memory_cost=8192, parallelism=1)
        return hasher.hash(password)
    raise ValueError(fmt)


def totp_secret(rng):
    # 160 bits, base32 without padding: what authenticator apps are given.
    return base64.b32encode(bytes(rng.getrandbits(8) for _ in range(20))).decode().rstrip("=")


def write(path, rows):
    if path.endswith(".csv"):
        with_totp = any(r.get("totp_secret") for r in rows)
        columns = COLUMNS if with_totp else COLUMNS[:4]
        with open(path, "w", newline="", encoding="utf-8") as f:
            out = csv.writer(f, lineterminator="\n")
            out.writerow(columns)
            for r in rows:
                out.writerow([r.get(c) or "" for c in columns])
    elif path.endswith(".json"):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1)
            f.write("\n")
    else:
        sys.exit(f"{path}: the file name must end in .csv or .json")


def fixture(directory):
    rng = random.Random(1313)
    people = [
        ("alice", "Alice@Legacy.example", "admin", "bcrypt-2b", True),
        ("bob", "bob@legacy.example", "licensed_user", "bcrypt-2a", False),
        ("carol", "carol@legacy.example", "licensed_user", "bcrypt-2y", False),
        ("dave", "dave@legacy.example", "client_user", "pbkdf2", False),
        ("Erin", "erin@legacy.example", "admin", "argon2id", False),
        ("frank", "frank@legacy.example", "licensed_user", "pbkdf2", False),
        ("grace", "grace@legacy.example", "licensed_user", "argon2id", True),
        ("heidi", "heidi@legacy.example", "client_user", "bcrypt-2b", False),
    ]
    rows = []
    for login, email, role, fmt, with_totp in people:
        row = {
            "login": login,
            "email": email,
            "role": role,
            "password_hash": make_hash(fmt, FIXTURE_PASSWORD, fast=False),
        }
        row["totp_secret"] = totp_secret(rng) if with_totp else None
        rows.append(row)
    os.makedirs(directory, exist_ok=True)
    write(os.path.join(directory, "legacy_users.csv"), rows)
    write(os.path.join(directory, "legacy_users.json"), rows)
    with open(os.path.join(directory, "password.txt"), "w", encoding="utf-8") as f:
        f.write(FIXTURE_PASSWORD + "\n")


def _user_hash(job):
    fmt, password, cost = job
    realistic = cost == "realistic"
    return make_hash(fmt, password, fast=not realistic, realistic=realistic)


def users(count, paths, password, totp_every, seed, formats=None, cost="low"):
    rng = random.Random(seed)
    formats = formats or FORMATS
    jobs = [(formats[i % len(formats)], password, cost) for i in range(count)]
    with multiprocessing.Pool() as pool:
        hashes = pool.map(_user_hash, jobs, chunksize=500)
    rows = []
    for i, hashed in enumerate(hashes):
        role = "admin" if i % 10 == 1 else "client_user" if i % 10 == 2 else "licensed_user"
        login = f"user{i:06d}"
        row = {
            "login": login,
            "email": f"{login}.{rng.randrange(16**6):06x}@legacy.example",
            "role": role,
            "password_hash": hashed,
        }
        row["totp_secret"] = totp_secret(rng) if totp_every and i % totp_every == 0 else None
        rows.append(row)
    for path in paths:
        write(path, rows)
        with open(path + ".password", "w", encoding="utf-8") as f:
            f.write(password + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    fx = sub.add_parser("fixture")
    fx.add_argument("directory")
    us = sub.add_parser("users")
    us.add_argument("count", type=int)
    us.add_argument("files", nargs="+")
    us.add_argument("--password", default="legacy-password-1")
    us.add_argument("--totp-every", type=int, default=0)
    us.add_argument("--seed", type=int, default=13)
    us.add_argument("--formats", type=lambda v: v.split(","), default=None)
    us.add_argument("--cost", choices=["low", "realistic"], default="low")
    args = parser.parse_args()
    if args.mode == "fixture":
        fixture(args.directory)
    else:
        unknown = [f for f in args.formats or [] if f not in FORMATS]
        if unknown:
            sys.exit(f"unknown format(s) {unknown}: choose from {FORMATS}")
        users(
            args.count,
            args.files,
            args.password,
            args.totp_every,
            args.seed,
            args.formats,
            args.cost,
        )


if __name__ == "__main__":
    main()
