"""experiments.finetune: LoRA and full fine-tuning of the packaged MiniLM on a tiny real subset of the tool-routing
task (a few optimizer steps each, one torch thread)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import need_module

need_module("peft")
import torch  # noqa: E402

from playbook_lib.errors import DataError, UsageError  # noqa: E402
from playbook_lib.experiments.finetune import (  # noqa: E402
    FinetuneConfig,
    TrainedClassifier,
    build_classifier,
    complete_runs,
    count_parameters,
    examples_to_reach,
    finetune_curve,
    lora_parameter_count,
    read_results,
    train_classifier,
    write_results,
)
from playbook_lib.experiments.tasks import load_task, split_task  # noqa: E402

TINY = dict(epochs=1, min_steps=4, batch_size=8, max_length=24, threads=1)


@pytest.fixture(scope="module")
def tiny(shared_data: Path):
    """3 training and 2 test requests for each of the 8 tools."""
    return split_task(load_task(shared_data, n_per_class=5, seed=0), 2, seed=0)


@pytest.fixture(scope="module")
def lora_run(tiny):
    return train_classifier(tiny[0], FinetuneConfig(method="lora", lora_r=4, **TINY), progress=False)


def base_state(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The encoder's own weights (no adapters, no head), by their name in a plain BERT model."""
    state = {}
    for name, value in model.state_dict().items():
        if name.startswith("head.") or "lora_" in name:
            continue
        plain = name.replace("encoder.base_model.model.", "encoder.").replace(".base_layer.", ".")
        state[plain] = value.detach().clone()
    return state


def test_lora_leaves_base_weights_unchanged_and_trains_only_adapters_and_head(tiny, lora_run) -> None:
    _, fresh = build_classifier(len(tiny[0].label_names), FinetuneConfig(method="full", **TINY))
    before, after = base_state(fresh), base_state(lora_run.model)
    assert before.keys() == after.keys() and len(before) > 90
    assert all(torch.equal(before[k], after[k]) for k in before)
    trainable = [n for n, p in lora_run.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n or n.startswith("head.") for n in trainable)
    # LoRA's B matrices start at zero; after training they are not
    lora_b = [p for n, p in lora_run.model.named_parameters() if "lora_B" in n]
    assert len(lora_b) == 12 and all(p.abs().sum() > 0 for p in lora_b)


def test_trainable_parameter_count_matches_the_lora_formula(tiny) -> None:
    n_labels = len(tiny[0].label_names)
    for r in (2, 8):
        _, model = build_classifier(n_labels, FinetuneConfig(method="lora", lora_r=r))
        trainable, total = count_parameters(model)
        head = 384 * n_labels + n_labels
        assert lora_parameter_count(384, 6, r) == 6 * 2 * r * 768
        assert trainable == lora_parameter_count(384, 6, r) + head
    _, full = build_classifier(n_labels, FinetuneConfig(method="full"))
    assert count_parameters(full)[0] == count_parameters(full)[1] == total - trainable + head


def test_a_few_steps_reduce_the_training_loss(tiny, lora_run) -> None:
    train = tiny[0]
    tokenizer, fresh = build_classifier(len(train.label_names), lora_run.config)
    untrained = TrainedClassifier(fresh, tokenizer, lora_run.config, train.label_names)
    assert len(lora_run.losses) == 6 and len(lora_run.epoch_seconds) == 2  # min_steps=4 at 3 batches per epoch
    assert lora_run.loss(train) < untrained.loss(train)


def test_training_is_deterministic_for_a_seed(tiny, lora_run) -> None:
    again = train_classifier(tiny[0], lora_run.config, progress=False)
    assert again.losses == lora_run.losses
    np.testing.assert_array_equal(again.logits(tiny[1].texts), lora_run.logits(tiny[1].texts))
    other = train_classifier(tiny[0], FinetuneConfig(method="lora", lora_r=4, seed=1, **TINY), progress=False)
    assert other.losses != lora_run.losses


def test_full_fine_tuning_changes_base_weights(tiny) -> None:
    config = FinetuneConfig(method="full", **{**TINY, "min_steps": 1})
    run = train_classifier(tiny[0], config, progress=False)
    _, fresh = build_classifier(len(tiny[0].label_names), config)
    before, after = base_state(fresh), base_state(run.model)
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert len(changed) > len(before) // 2
    assert run.trainable == run.total > 22_000_000
    score = run.evaluate(tiny[1])
    assert score.n == len(tiny[1]) and 0.0 <= score.accuracy <= 1.0


def test_config_validation_and_step_schedule() -> None:
    with pytest.raises(UsageError, match="unknown fine-tuning method"):
        FinetuneConfig(method="qlora")
    with pytest.raises(UsageError):
        FinetuneConfig(epochs=0)
    config = FinetuneConfig(epochs=2, min_steps=30, batch_size=16)
    assert config.steps(64) == (8, 32)  # 4 batches per epoch: 8 epochs reach 30 steps
    assert config.steps(1024) == (2, 128)
    assert FinetuneConfig(method="full").encoder_lr < FinetuneConfig(method="lora").encoder_lr


def test_curve_uses_the_same_sample_for_every_method(tiny) -> None:
    pool, test = tiny
    rng = np.random.default_rng(0)
    vectors = (rng.normal(size=(len(pool), 8)), rng.normal(size=(len(test), 8)))
    frame = finetune_curve(
        pool,
        test,
        sizes=[1],
        seeds=[0],
        config=FinetuneConfig(**TINY),
        methods=["probe", "lora"],
        probe_vectors=vectors,
        progress=False,
    )
    assert frame.method.tolist() == ["probe", "lora"]
    assert frame.train_rows.tolist() == [8, 8] and (frame.accuracy.between(0, 1)).all()
    assert frame.trainable.tolist()[0] == 9 * 8 and frame.trainable.tolist()[1] > 9 * 8
    with pytest.raises(UsageError, match="probe_vectors"):
        finetune_curve(pool, test, [1], [0], FinetuneConfig(**TINY), methods=["probe"])
    with pytest.raises(UsageError, match="unknown methods"):
        finetune_curve(pool, test, [1], [0], FinetuneConfig(**TINY), methods=["adapter"])


def test_examples_to_reach_and_results_round_trip(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "method": ["a"] * 4 + ["b"] * 4,
            "size_per_class": [1, 1, 4, 4] * 2,
            "train_rows": [8, 8, 32, 32] * 2,
            "seed": [0, 1] * 4,
            "accuracy": [0.5, 0.7, 0.8, 0.9, 0.2, 0.3, 0.5, 0.6],
            "macro_f1": [0.5] * 8,
        }
    )
    reach = examples_to_reach(frame, 0.6).set_index("method")
    assert reach.loc["a", "train_rows"] == 8 and reach.loc["b", "train_rows"] != reach.loc["b", "train_rows"]
    assert examples_to_reach(frame, 0.85).set_index("method").loc["a", "size_per_class"] == 4
    path = tmp_path / "out" / "r.csv"
    write_results(frame, path, {"command": "python bench/finetune.py --seeds 0 1", "date": "2026-11-23"})
    back, meta = read_results(path)
    assert meta == {"command": "python bench/finetune.py --seeds 0 1", "date": "2026-11-23"}
    pd.testing.assert_frame_equal(back, frame)
    with pytest.raises(DataError, match="not found"):
        read_results(tmp_path / "missing.csv")
    (tmp_path / "bad.csv").write_text("# x: y\nmethod,seed\nlora,0\n")
    with pytest.raises(DataError, match="missing columns"):
        read_results(tmp_path / "bad.csv")


def test_complete_runs_keeps_only_pairs_every_method_ran() -> None:
    rows = [(m, n, s) for n in (8, 16) for s in (0, 1) for m in ("probe", "lora")]
    rows += [("probe", 32, 0), ("lora", 32, 0), ("probe", 32, 1)]
    frame = pd.DataFrame(rows, columns=["method", "size_per_class", "seed"]).assign(accuracy=0.5)
    kept = complete_runs(frame)
    assert len(kept) == 10 and sorted(set(kept.size_per_class)) == [8, 16, 32]
    assert kept[kept.size_per_class == 32].seed.tolist() == [0, 0]
    assert len(complete_runs(frame.iloc[:8])) == 8


def comparison_table(lora: dict[int, list[float]], full: dict[int, list[float]]) -> pd.DataFrame:
    rows = [
        {"method": method, "size_per_class": size, "seed": seed, "accuracy": value}
        for method, table in (("lora", lora), ("full", full))
        for size, values in table.items()
        for seed, value in enumerate(values)
    ]
    return pd.DataFrame(rows)


def test_compare_methods_pairs_seeds_and_judges_each_size() -> None:
    from playbook_lib.experiments.finetune import compare_methods
    from playbook_lib.experiments.verdict import Verdict

    frame = comparison_table(
        {8: [0.70, 0.75, 0.62], 16: [0.80, 0.81, 0.79], 32: [0.80, 0.90, 0.85]},
        {8: [0.60, 0.66, 0.51], 16: [0.90, 0.92, 0.88], 32: [0.85, 0.80, 0.90]},
    )
    result = compare_methods(frame, "lora", "full")
    # paired: lora is ahead by 0.09-0.11 on every seed at 8/class despite the seed spread
    assert result.verdicts == {8: Verdict.HELD, 16: Verdict.DID_NOT_HOLD, 32: Verdict.INCONCLUSIVE}
    assert result.verdict is Verdict.DID_NOT_HOLD
    table = result.frame()
    assert list(table.seeds) == [3, 3, 3]
    assert table.difference.iloc[1] == pytest.approx(-0.1)
    assert compare_methods(frame, "lora", "full", sizes=[8]).verdict is Verdict.HELD
    assert compare_methods(frame, "lora", "full", sizes=[8, 32]).verdict is Verdict.INCONCLUSIVE
    # "below": full minus lora at 8/class is wholly below zero
    assert compare_methods(frame, "full", "lora", side="below", sizes=[8]).verdict is Verdict.HELD


def test_compare_methods_uses_only_seeds_both_ran_and_rejects_missing() -> None:
    from playbook_lib.experiments.finetune import compare_methods

    frame = comparison_table({8: [0.7, 0.8, 0.9]}, {8: [0.6, 0.7]})
    assert compare_methods(frame, "lora", "full").intervals[8].n == 2
    with pytest.raises(UsageError):
        compare_methods(frame, "lora", "probe")
    with pytest.raises(UsageError):
        compare_methods(frame, "lora", "full", sizes=[64])
    with pytest.raises(UsageError):
        compare_methods(frame, "lora", "full", metric="macro_f1")


def cost_table(lora_seconds: list[float], trainable: int = 1_000) -> pd.DataFrame:
    rows = []
    for seed, seconds in enumerate(lora_seconds):
        rows.append(
            dict(
                method="lora",
                size_per_class=8,
                seed=seed,
                accuracy=0.8,
                trainable=trainable,
                seconds_per_epoch=seconds,
                peak_rss_mb=500.0 + seed,
            )
        )
        rows.append(
            dict(
                method="full",
                size_per_class=8,
                seed=seed,
                accuracy=0.8,
                trainable=1_000_000,
                seconds_per_epoch=10.0 + seed,
                peak_rss_mb=900.0 + 2 * seed,
            )
        )
    return pd.DataFrame(rows)


def test_judge_costs_held_did_not_hold_and_inconclusive() -> None:
    from playbook_lib.experiments.finetune import judge_costs
    from playbook_lib.experiments.verdict import Verdict

    held = judge_costs(cost_table([5.0, 6.1, 6.9]))
    assert held.verdict is Verdict.HELD and held.share.estimate == pytest.approx(0.001)
    assert judge_costs(cost_table([5.0, 6.1, 6.9], trainable=50_000)).verdict is Verdict.DID_NOT_HOLD
    # seconds per epoch: faster on one seed, slower on another, so the paired interval straddles zero
    noisy = judge_costs(cost_table([4.0, 13.0, 8.0]))
    assert noisy.seconds.verdict is Verdict.INCONCLUSIVE and noisy.verdict is Verdict.INCONCLUSIVE
    assert judge_costs(cost_table([15.0, 16.1, 16.9])).verdict is Verdict.DID_NOT_HOLD
