"""The probabilistic-outputs page's verdicts on constructed sampling frames: held, did not hold, inconclusive."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from playbook_lib.errors import UsageError
from playbook_lib.experiments.verdict import Verdict
from playbook_lib.models.sampling_claims import PROFILES, judge_sampling


def rows(
    setting: str,
    t: float,
    acc: list[float],
    *,
    ent: float | list[float] = 0.0,
    agree: float | list[float] = 1.0,
    k: int | None = None,
    p: float | None = None,
    retries: int = 0,
    n: int = 20,
) -> list[dict[str, object]]:
    out = []
    for i, a in enumerate(acc):
        e = ent[i] if isinstance(ent, list) else ent
        g = agree[i] if isinstance(agree, list) else agree
        out.append(
            {
                "setting": setting,
                "temperature": t,
                "top_k": k,
                "top_p": p,
                "retries": retries,
                "task": f"x{i}",
                "n": n,
                "n_distinct": 1 if e == 0 else 5,
                "entropy_bits": e,
                "agreement": g,
                "accuracy": a,
            }
        )
    return out


def frame(*parts: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame([r for part in parts for r in part])


rng = np.random.default_rng(0)
N = 12
GOOD = list(rng.uniform(0.7, 1.0, N).round(2))
BAD = list(rng.uniform(0.0, 0.3, N).round(2))
MID = list(rng.uniform(0.4, 0.6, N).round(2))
SPREAD = list(rng.uniform(1.5, 3.0, N).round(2))


def test_every_claim_holds_when_the_effects_are_clear() -> None:
    f = frame(
        rows("T=0", 0.0, GOOD),
        rows("T=0.7", 0.7, MID, ent=SPREAD, agree=0.4),
        rows("T=1.5", 1.5, BAD, ent=SPREAD, agree=0.2),
        rows("T=1.5 p=0.5", 1.5, MID, ent=1.0, agree=0.5, p=0.5),
        rows("T=0.7 +validator(3)", 0.7, GOOD, agree=0.95, retries=3),
    )
    v = judge_sampling(f)
    assert v.greedy.verdict is Verdict.HELD
    assert v.spread.verdict is Verdict.HELD and v.accuracy.verdict is Verdict.HELD
    assert v.filters_verdict is Verdict.HELD and v.validator_verdict is Verdict.HELD
    assert v.tasks == N and v.samples == 20
    text = v.markdown()
    assert "On 12 tasks, 20 samples per task" in text and "(95%, n=12)" in text
    assert "**a validator loop makes the answers repeatable and correct**: **held**" in text


def test_claims_that_the_numbers_contradict_do_not_hold() -> None:
    f = frame(
        rows("T=0", 0.0, BAD),  # greedy worse than hot sampling
        rows("T=1.5", 1.5, GOOD, ent=SPREAD, agree=0.2),
        rows("T=1.5 k=5", 1.5, BAD, ent=1.0, k=5),  # the filter loses accuracy
        rows("T=0.7", 0.7, GOOD, agree=0.9),
        rows("T=0.7 +validator(3)", 0.7, BAD, agree=0.3, retries=3),
    )
    v = judge_sampling(f)
    assert v.accuracy.verdict is Verdict.DID_NOT_HOLD
    assert v.filters_verdict is Verdict.DID_NOT_HOLD
    assert v.validator_verdict is Verdict.DID_NOT_HOLD
    broken = f.copy()
    broken.loc[(broken.temperature == 0) & (broken.task == "x3"), "n_distinct"] = 2  # greedy varied once
    assert judge_sampling(broken).greedy.verdict is Verdict.DID_NOT_HOLD


def test_noise_missing_settings_and_single_draws_are_inconclusive() -> None:
    noisy = frame(rows("T=0", 0.0, MID), rows("T=1.5", 1.5, list(np.roll(MID, 3)), ent=SPREAD))
    v = judge_sampling(noisy)
    assert v.accuracy.verdict is Verdict.INCONCLUSIVE  # the per-task differences straddle 0
    assert v.filters == () and v.filters_verdict is Verdict.INCONCLUSIVE  # no filtered setting
    assert v.validator == () and v.validator_verdict is Verdict.INCONCLUSIVE
    assert "not measured: no such setting" in v.markdown()
    once = frame(rows("T=0", 0.0, GOOD, n=1), rows("T=1.5", 1.5, BAD, ent=SPREAD))
    assert judge_sampling(once).greedy.verdict is Verdict.INCONCLUSIVE  # one draw cannot show it repeats
    one_task = frame(rows("T=0", 0.0, [1.0]), rows("T=1.5", 1.5, [0.0], ent=[2.0]))
    w = judge_sampling(one_task)
    assert w.accuracy.verdict is Verdict.INCONCLUSIVE and math.isinf(w.accuracy.interval.high)
    only_greedy = judge_sampling(frame(rows("T=0", 0.0, GOOD)))
    assert only_greedy.spread.verdict is Verdict.INCONCLUSIVE and only_greedy.accuracy.interval.n == 0


def test_bad_frames_are_refused_and_the_profiles_are_what_the_page_promises() -> None:
    with pytest.raises(UsageError, match="lacks"):
        judge_sampling(pd.DataFrame({"task": ["x"]}))
    with pytest.raises(UsageError, match="no rows"):
        judge_sampling(frame(rows("T=0", 0.0, GOOD))[0:0])
    full = PROFILES["full"]
    assert full.tasks is None and full.samples >= 20
    assert any(s.retries for s in full.settings) and any(s.top_p or s.top_k for s in full.settings)
