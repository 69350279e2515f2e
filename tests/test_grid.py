"""The grid: one expansion, one identity, names unique beyond the seed, errors as one sentence."""

from __future__ import annotations

import pytest

from ablation.config.grid import ConfigError, describe, expand, split_overrides


def names(entries: list) -> list[str]:
    return [e.name for e in entries]


def test_a_swept_module_argument_names_each_config() -> None:
    entries = expand("run", ["attention=se", "attention.kwargs.reduction=8,16"])
    assert names(entries) == ["yolov5s-none", "yolov5s-se-neck-reduction=8", "yolov5s-se-neck-reduction=16"]
    assert len({e.config_hash for e in entries}) == 3
    assert [e.cfg.attention.kwargs.reduction for e in entries[1:]] == [8, 16]


def test_every_swept_key_that_differs_is_in_the_name() -> None:
    entries = expand("run", ["attention=se", "placement=neck,before_sppf", "train.epochs=3,5"])
    assert names(entries) == [
        "yolov5s-none-epochs=3",
        "yolov5s-none-epochs=5",
        "yolov5s-se-neck-epochs=3",
        "yolov5s-se-neck-epochs=5",
        "yolov5s-se-before_sppf-epochs=3",
        "yolov5s-se-before_sppf-epochs=5",
    ]


def test_seeds_share_a_name_and_pair_with_their_own_baseline() -> None:
    entries = expand("run", ["attention=se", "seed=0,1,2"])
    assert len(entries) == 6 and set(names(entries)) == {"yolov5s-none", "yolov5s-se-neck"}
    base = {e.seed: e for e in entries if e.is_baseline}
    for e in entries:
        assert e.baseline_hash == base[e.seed].config_hash  # the baseline of the same seed
    se = [e for e in entries if not e.is_baseline]
    assert len({e.group_hash for e in se}) == 1 and len({e.config_hash for e in se}) == 3


def test_the_same_config_is_one_entry() -> None:
    # attention=none is the default, the baseline and listed: one run; the baseline ignores the placement
    entries = expand("run", ["attention=none,se", "placement=neck,after_c3"])
    assert names(entries) == ["yolov5s-none", "yolov5s-se-neck", "yolov5s-se-after_c3"]


def test_identity_ignores_where_a_run_is_recorded() -> None:
    [a] = [e for e in expand("run", ["attention=se", "tracking.uri=sqlite:///x.db"]) if not e.is_baseline]
    [b] = [e for e in expand("run", ["attention=se", "preflight.workers=1", "planned=/p/x.json"]) if not e.is_baseline]
    assert a.config_hash == b.config_hash
    [c] = [e for e in expand("run", ["attention=se", "train.epochs=3"]) if not e.is_baseline]
    assert c.config_hash != a.config_hash


def test_a_job_describes_its_config_as_the_grid_did() -> None:
    for entry in expand("run", ["attention=se,simam", "seed=0,1"]):
        again = describe(entry.cfg)
        assert (again.config_hash, again.group_hash, again.baseline_hash) == (
            entry.config_hash,
            entry.group_hash,
            entry.baseline_hash,
        )


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        (["attention=sse"], r"attention must be one of: a2, all, .*\bca, cbam, "),
        (["placement=somewhere"], r"placement must be one of: after_c3, backbone_end"),
        (["attention=se", "placement.name=elsewhere"], r"unknown placement 'elsewhere'; choose one of"),
        (["attention=se", "attention.kwargs.reduction=8,,"], r"cannot parse the command line"),
    ],
)
def test_bad_command_lines_are_one_sentence(overrides: list[str], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as err:
        expand("run", overrides)
    assert "\n" not in str(err.value)


def test_a_swept_switch_reads_as_typed() -> None:
    entries = expand("run", ["model=yolov5n", "attention=none", "train.noplots=true,false"])
    assert names(entries) == ["yolov5n-none-noplots=true", "yolov5n-none-noplots=false"]


def test_attention_all_sweeps_every_registered_module() -> None:
    from ablation.attention import ATTENTION

    fixed, sweeps = split_overrides(["model=yolov5n", "attention=all", "placement=neck,after_c3"])
    assert fixed == ["model=yolov5n"]
    assert sweeps[0] == [f"attention={n}" for n in ATTENTION.names()] and "attention=none" not in sweeps[0]
    entries = expand("plan", ["model=yolov5n", "attention=all", "placement=neck"])
    assert sorted(e.attention for e in entries) == sorted(["none", *ATTENTION.names()])
    assert len(ATTENTION) >= 20
