"""build_model: official EDVR layout found by file name, SEEM adapters over a base, the mask-source guard."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

from seemup.errors import UserError
from seemup.models import create_model
from seemup.weights import build_model, save_adapter
from seemup.weights.hashing import sha256_file

torch.set_num_threads(1)
SAM_ID = "sam-vit_b-0123456789abcdef-pps8"


@pytest.fixture()
def user_dir(tmp_path, monkeypatch):
    user = tmp_path / "user"
    user.mkdir()
    monkeypatch.setenv("SEEMUP_WEIGHTS_DIR", str(user))
    monkeypatch.delenv("SEEMUP_WEIGHTS_VERIFY", raising=False)
    return user


def _randomize(model: torch.nn.Module, seed: int, prefix: str = "") -> torch.nn.Module:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith(prefix):
                p.copy_(torch.randn(p.shape, generator=gen) * 0.05)
    return model


def _same(a: dict, b: dict, keys) -> bool:
    return all(torch.equal(a[k], b[k]) for k in keys)


def test_edvr_official_file_is_found_and_loaded(user_dir, monkeypatch):
    reference = _randomize(create_model("edvr-m"), seed=1)
    state = reference.state_dict()
    # BasicSR's layout: {"params": state_dict}, saved under the official file name.
    torch.save({"params": state}, user_dir / "EDVR_M_x4_SR_REDS_official-32075921.pth")

    with pytest.raises(UserError, match="is not the file of weight set 'edvr-m-reds'"):
        build_model("edvr-m")  # random weights cannot have the official hash prefix
    monkeypatch.setenv("SEEMUP_WEIGHTS_VERIFY", "0")  # documented switch: skip hash checks
    model, info = build_model("edvr")  # alias of edvr-m
    assert info.name == "edvr-m-reds" and info.path == user_dir / "EDVR_M_x4_SR_REDS_official-32075921.pth"
    assert not model.training
    assert _same(model.state_dict(), state, state)

    seem_model, seem_info = build_model("edvr-m-seem")
    assert seem_info.name == "edvr-m-reds" and seem_info.mask_source_id is None and not seem_info.seem_trained
    assert any("SEEM stays zero" in n for n in seem_info.notes)
    assert _same(seem_model.state_dict(), state, state)


PASSING = '[weights.acceptance]\ndataset = "test"\nmean_gain = 0.03\nworst = -0.01\n'


def _tiny_manifest(user: Path, adapter_source: str = SAM_ID, acceptance: str = PASSING) -> None:
    base = _randomize(create_model("basicvsr-tiny"), seed=2)
    torch.save({"params": base.state_dict()}, user / "tiny-base.pth")
    seem = _randomize(create_model("basicvsr-tiny-seem"), seed=3, prefix="seem.")
    save_adapter(user / "tiny-adapter.pth", seem, model_name="basicvsr-tiny-seem", base="tiny-base",
                 mask_source_id=SAM_ID)
    seemup_fields = ('origin = "seemup"\ntraining_data = "random tensors (test)"\ncommand = "pytest"\n'
                     '[[weights.validation]]\ndataset = "none"\nspace = "rgb"\npsnr = 20.5\nsource = "test"\n')
    (user / "manifest.toml").write_text(
        '[defaults]\nbasicvsr-tiny-seem = "tiny-base"\n\n'
        f'[[weights]]\nname = "tiny-base"\nkind = "full"\nmodel = "basicvsr-tiny"\nfile = "tiny-base.pth"\n'
        f'sha256 = "{sha256_file(user / "tiny-base.pth")}"\n{seemup_fields}\n'
        f'[[weights]]\nname = "tiny-adapter"\nkind = "adapter"\nmodel = "basicvsr-tiny-seem"\nbase = "tiny-base"\n'
        f'mask_source = "{adapter_source}"\nfile = "tiny-adapter.pth"\n'
        f'sha256 = "{sha256_file(user / "tiny-adapter.pth")}"\n{seemup_fields}{acceptance}'
    )


def test_adapter_is_layered_on_its_base(user_dir):
    _tiny_manifest(user_dir)
    base = torch.load(user_dir / "tiny-base.pth", weights_only=True)["params"]
    adapter = torch.load(user_dir / "tiny-adapter.pth", weights_only=True)
    assert adapter["meta"]["mask_source_id"] == SAM_ID and set(adapter["params"]) == {
        k for k in create_model("basicvsr-tiny-seem").state_dict() if k.startswith("seem.")}

    model, info = build_model("basicvsr-tiny-seem")  # default: the installed adapter
    assert info.name == "tiny-adapter" and info.kind == "adapter" and info.base.name == "tiny-base"
    assert info.mask_source_id == SAM_ID and info.seem_trained
    state = model.state_dict()
    assert _same(state, base, base) and _same(state, adapter["params"], adapter["params"])

    same, info2 = build_model("basicvsr-tiny-seem", mask_source_id=SAM_ID)
    assert info2.name == "tiny-adapter"
    by_path, info3 = build_model("basicvsr-tiny-seem", user_dir / "tiny-adapter.pth")  # base from metadata
    assert info3.mask_source_id == SAM_ID and info3.base.name == "tiny-base"
    assert _same(by_path.state_dict(), state, state)


def test_masks_of_another_kind_are_refused(user_dir):
    _tiny_manifest(user_dir)
    with pytest.raises(UserError, match=f"trained on masks from {SAM_ID}, but this run's masks come from classical"):
        build_model("basicvsr-tiny-seem", "tiny-adapter", mask_source_id="classical-v1")
    # By default a run with other masks gets no adapter: SEEM zero, and the user is told why.
    model, info = build_model("basicvsr-tiny-seem", mask_source_id="classical-v1")
    assert info.name == "tiny-base" and info.mask_source_id is None
    assert (f"no SEEM adapter for classical-v1 passes the acceptance rule (accepted adapters present for: {SAM_ID})"
            in info.notes[0])


@pytest.mark.parametrize("acceptance", [
    "",  # no record: never a default
    '[weights.acceptance]\ndataset = "t"\nmean_gain = 0.01\nworst = 0.0\n',  # gains too little
    '[weights.acceptance]\ndataset = "t"\nmean_gain = 0.2\nworst = -0.06\n',  # hurts one clip
])
def test_adapter_failing_the_acceptance_rule_is_not_a_default(user_dir, acceptance):
    _tiny_manifest(user_dir, acceptance=acceptance)
    model, info = build_model("basicvsr-tiny-seem", mask_source_id=SAM_ID)
    assert info.name == "tiny-base" and not info.seem_trained
    assert f"no SEEM adapter for {SAM_ID} passes the acceptance rule; running the backbone" in info.notes[0]
    assert all(float(v.abs().max()) == 0 for k, v in model.state_dict().items() if k.startswith("seem.blocks.") and
               "conv2" in k)
    named, info2 = build_model("basicvsr-tiny-seem", "tiny-adapter", mask_source_id=SAM_ID)  # named: it runs
    assert info2.name == "tiny-adapter" and info2.seem_trained
    zero_init = [p for n, p in model.named_parameters() if n.startswith("seem.blocks.") and n.endswith("conv2.weight")]
    assert zero_init and all(int(torch.count_nonzero(p.detach())) == 0 for p in zero_init)  # SEEM untouched


def test_manifest_and_file_must_agree_on_mask_source(user_dir):
    _tiny_manifest(user_dir, adapter_source="sam-vit_h-ffffffffffffffff-pps8")
    with pytest.raises(UserError, match="fix the manifest"):
        build_model("basicvsr-tiny-seem", "tiny-adapter")


def test_adapter_with_foreign_tensors_is_refused(user_dir, tmp_path):
    _tiny_manifest(user_dir)
    bad = torch.load(user_dir / "tiny-adapter.pth", weights_only=True)
    bad["params"]["conv_last.weight"] = torch.zeros(3, 16, 3, 3)
    torch.save(bad, tmp_path / "bad-adapter.pth")
    with pytest.raises(UserError, match="unexpected 1: conv_last.weight"):
        build_model("basicvsr-tiny-seem", tmp_path / "bad-adapter.pth")


def test_seem_weights_without_mask_source_warn(user_dir, tmp_path):
    seem = _randomize(create_model("basicvsr-tiny-seem"), seed=4)
    torch.save(seem.state_dict(), tmp_path / "plain-state.pth")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, info = build_model("basicvsr-tiny-seem", tmp_path / "plain-state.pth")
    assert info.seem_trained and info.mask_source_id is None
    assert any("record no mask source" in str(w.message) for w in caught)
    with pytest.raises(UserError, match="holds weights for model basicvsr-tiny-seem, not basicvsr-tiny"):
        torch.save({"params": seem.state_dict(), "meta": {"model": "basicvsr-tiny-seem"}}, tmp_path / "m.pth")
        build_model("basicvsr-tiny", tmp_path / "m.pth")


def test_model_options_come_from_the_manifest(user_dir, monkeypatch):
    from seemup.weights import resolve_weights

    (user_dir / "EDVR_L_x4_SR_REDS_official-9f5f5039.pth").write_bytes(b"x")
    monkeypatch.setenv("SEEMUP_WEIGHTS_VERIFY", "0")
    info = resolve_weights("edvr-l", "edvr-l-reds")
    assert dict(info.config) == {"num_frame": 5}  # REDS EDVR-L uses a 5-frame window (registry default: 7)
