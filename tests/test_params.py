from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from tracelora.common.params import ParamsError, load_params


def load(tmp_path: Path, text: str):
    p = tmp_path / "params.yaml"
    p.write_text(text)
    return load_params(p)


def test_shipped_params_are_valid() -> None:
    p = load_params(ROOT / "params.yaml")
    assert p.model.base == "embedded" and p.train.method == "auto"


@pytest.mark.parametrize("text, message", [
    ("train: {lora_r: four}\n", "train.lora_r: Input should be a valid integer (got 'four')"),
    ("train: {lorar: 4}\n", "train.lorar: unknown key"),
    ("trian: {}\n", "trian: unknown key"),
    ("train: {method: qlora4}\n", "train.method: Input should be 'auto', 'qlora' or 'lora'"),
    ("data: {val_fraction: 1.5}\n", "data.val_fraction: Input should be less than 1"),
    ("data: {keep_outcomes: [sucess]}\n", "data.keep_outcomes.0: Input should be"),
    ("gate: {min_delta_exact_match: high}\n", "gate.min_delta_exact_match: Input should be a valid number"),
    ("data: [1, 2]\n", "data: Input should be a valid dictionary"),
    ("train: {lora_r: 4\n", "not valid YAML"),
])
def test_bad_params_give_one_line_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ParamsError) as err:
        load(tmp_path, text)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert str(err.value).startswith(str(tmp_path / "params.yaml"))


def test_yaml_number_quirks_are_accepted(tmp_path: Path) -> None:
    p = load(tmp_path, "train: {learning_rate: 1e-4}\ngate: {min_delta_exact_match: 0}\n")
    assert p.train.learning_rate == 1e-4 and p.gate.min_delta_exact_match == 0.0


def test_stage_exits_2_with_one_line_on_bad_params(tmp_path: Path, capsys) -> None:
    from tracelora.stages import gate

    (tmp_path / "params.yaml").write_text("gate: {min_delta_keyword_recal: 0.1}\n")
    with pytest.raises(SystemExit) as exc:
        gate.main(["--manifest", "m", "--eval", "e", "--out", str(tmp_path / "g.json"), "--params", str(tmp_path / "params.yaml")])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err == f"error: {tmp_path / 'params.yaml'}: gate.min_delta_keyword_recal: unknown key"
