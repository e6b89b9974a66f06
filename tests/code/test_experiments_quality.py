"""experiments.quality: the verdict rules of the quality-over-quantity and learning-curve pages, on constructed
runs whose answer is known (held, did not hold, inconclusive), and the committed-table round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from playbook_lib.errors import UsageError
from playbook_lib.experiments.quality import (
    FORECAST_MARGIN,
    CurveRun,
    QualityRun,
    curve_summary,
    curve_verdicts,
    noise_summary,
    quality_summary,
    quality_verdicts,
)
from playbook_lib.experiments.verdict import Verdict, mean_interval


def quality_run(curated: list[float], noisy: dict[float, list[float]]) -> QualityRun:
    """Curated accuracy per seed, and the largest noisy set's accuracy per seed at each noise level (a smaller
    size with accuracy 0 must be ignored: the rule compares with the *largest* noisy set)."""
    seeds = list(range(len(curated)))
    grid = []
    for level, values in noisy.items():
        for size, accs in ((10, [0.0] * len(values)), (40, values)):
            for s, acc in zip(seeds, accs):
                grid.append(
                    {
                        "size_per_class": size,
                        "label_noise": level,
                        "seed": s,
                        "train_rows": size * 8,
                        "accuracy": acc,
                        "macro_f1": acc,
                    }
                )
    cur = pd.DataFrame({"seed": seeds, "train_rows": 64, "accuracy": curated, "macro_f1": curated})
    return QualityRun(pd.DataFrame(grid), cur, [10, 40], [0.0, *noisy], seeds, 100, 400, 500)


def test_quality_verdicts_held_did_not_hold_and_inconclusive() -> None:
    curated = [0.80, 0.82, 0.81, 0.79, 0.80]
    run = quality_run(
        curated,
        {
            0.0: [0.9] * 5,  # not judged: no noise
            0.2: [0.85, 0.86, 0.84, 0.85, 0.86],  # noisy clearly better -> did not hold
            0.4: [0.81, 0.79, 0.80, 0.82, 0.80],  # a tie within noise -> inconclusive
            0.6: [0.60, 0.62, 0.61, 0.59, 0.63],  # curated clearly better -> held
        },
    )
    verdicts = quality_verdicts(run)
    assert verdicts.label_noise.tolist() == [0.2, 0.4, 0.6]
    assert verdicts.verdict.tolist() == ["did not hold", "inconclusive", "held"]
    assert verdicts.seeds.tolist() == [5, 5, 5]
    assert verdicts.noisy_rows.tolist() == [320, 320, 320]
    text = quality_summary(verdicts)
    assert "held at 1, did not hold at 1 and was inconclusive at 1" in text


def test_an_exact_tie_is_inconclusive_never_held() -> None:
    run = quality_run([0.8] * 5, {0.2: [0.8] * 5})
    assert quality_verdicts(run).verdict.tolist() == ["inconclusive"]


def test_quality_table_round_trip_and_bad_tables() -> None:
    run = quality_run([0.8, 0.9, 0.85, 0.8, 0.9], {0.2: [0.6, 0.7, 0.65, 0.6, 0.7]})
    back = QualityRun.from_rows(run.rows())
    pd.testing.assert_frame_equal(quality_verdicts(back), quality_verdicts(run))
    with pytest.raises(UsageError, match="both arms"):
        QualityRun.from_rows(run.rows().query("arm == 'noisy'"))
    with pytest.raises(UsageError, match="columns"):
        QualityRun.from_rows(pd.DataFrame({"accuracy": [1.0]}))


def curve_run(ceiling: float, late_shift: float, noise: float = 0.005, seeds: int = 5) -> CurveRun:
    """A learning curve that follows ``ceiling - 0.6 n^-0.5`` up to 100 rows and that plus ``late_shift`` beyond."""
    rng = np.random.default_rng(0)
    rows = []
    for n in (8, 16, 32, 48, 64, 100, 200, 400):
        for s in range(seeds):
            acc = ceiling - 0.6 * n**-0.5 + (late_shift if n > 100 else 0.0) + rng.normal(scale=noise)
            rows.append({"size_per_class": n // 8, "train_rows": n, "seed": s, "accuracy": acc, "macro_f1": acc})
    return CurveRun(pd.DataFrame(rows), 0.3, list(range(seeds)), 100, 1000)


def test_curve_verdicts_forecast_held_when_the_curve_keeps_its_shape() -> None:
    result = curve_verdicts(curve_run(0.9, 0.0), fit_max_rows=100)
    assert result.claim_a is Verdict.HELD and result.budget_rows == 100
    assert result.forecast.train_rows.tolist() == [200, 400]
    assert result.claim_b is Verdict.HELD
    assert abs(result.fit.ceiling - 0.9) < 0.02


def test_curve_verdicts_forecast_did_not_hold_when_the_curve_bends() -> None:
    result = curve_verdicts(curve_run(0.9, -4 * FORECAST_MARGIN), fit_max_rows=100)
    assert result.claim_b is Verdict.DID_NOT_HOLD
    assert "did not hold" in result.markdown(0.3)


def test_curve_verdicts_inconclusive_when_seeds_disagree() -> None:
    result = curve_verdicts(curve_run(0.9, -FORECAST_MARGIN, noise=0.05), fit_max_rows=100)
    assert result.claim_b is Verdict.INCONCLUSIVE


def test_curve_claim_a_did_not_hold_below_the_baseline_and_round_trip() -> None:
    run = curve_run(0.25, 0.0)  # every probe score is below the 0.3 zero-shot baseline
    result = curve_verdicts(run, fit_max_rows=100)
    assert result.claim_a is Verdict.DID_NOT_HOLD
    back = CurveRun.from_rows(run.rows())
    assert back.baseline == pytest.approx(0.3)
    pd.testing.assert_frame_equal(curve_verdicts(back, 100).forecast, result.forecast)
    with pytest.raises(UsageError, match="zero-shot"):
        CurveRun.from_rows(run.rows().query("arm == 'probe'"))
    with pytest.raises(UsageError, match="fit_max_rows"):
        curve_verdicts(run, fit_max_rows=4)


def test_committed_tables_round_trip_and_refuse_bad_files(tmp_path) -> None:
    from playbook_lib.errors import DataError
    from playbook_lib.experiments.tables import read_table, write_table

    path = tmp_path / "t.csv"
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    write_table(frame, path, {"command": "python bench/x.py\n --flag", "date": "2026-12-03"})
    back, meta = read_table(path, required=["a"])
    pd.testing.assert_frame_equal(back, frame)
    assert meta == {"command": "python bench/x.py --flag", "date": "2026-12-03"}
    with pytest.raises(DataError, match="missing columns"):
        read_table(path, required=["a", "zz"])
    with pytest.raises(DataError, match="not found"):
        read_table(tmp_path / "none.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(DataError, match="UTF-8"):
        read_table(tmp_path / "bin.csv")
    (tmp_path / "only.csv").write_text("# command: x\n", encoding="utf-8")
    with pytest.raises(DataError, match="unreadable"):
        read_table(tmp_path / "only.csv")


def test_machine_names_the_cpu_and_its_simd_flags(monkeypatch, tmp_path) -> None:
    from pathlib import Path

    from playbook_lib.experiments import tables

    real = Path.read_text
    fake = "model name\t: Test CPU 9000\nflags\t\t: fpu sse avx2 avx512f amx_int8\n"
    monkeypatch.setattr(
        Path, "read_text", lambda self, **kw: fake if str(self) == "/proc/cpuinfo" else real(self, **kw)
    )
    assert tables.machine().startswith("Test CPU 9000 (") and tables.machine().endswith("; avx2, avx512f, amx_int8)")

    def missing(self, **kw):
        raise OSError("no /proc")

    monkeypatch.setattr(Path, "read_text", missing)
    assert "cores)" in tables.machine()


def test_noise_summary_shows_each_arm_at_a_noise_level_and_the_rules_verdict_there() -> None:
    curated = [0.80, 0.82, 0.81, 0.79, 0.80]
    noisy = {0.0: [0.9] * 5, 0.2: [0.85, 0.86, 0.84, 0.85, 0.86], 0.6: [0.60, 0.62, 0.61, 0.59, 0.63]}
    frame = quality_run(curated, noisy).rows()
    low, high, clean = noise_summary(frame, 0.2), noise_summary(frame, 0.6), noise_summary(frame, 0.0)
    assert len({low, high, clean}) == 3  # the setting changes what is shown
    assert "20% label noise" in low and "60% label noise" in high
    big = mean_interval(noisy[0.6])
    assert f"<td>noisy, 40 per tool</td><td>320</td><td>{big.text()}</td>" in high and big.high - big.low > 0.01
    assert "<td>noisy, 10 per tool</td><td>80</td><td>0.000 [0.000, 0.000]</td>" in high  # the small set is shown
    assert f"<td>curated (clean)</td><td>64</td><td>{mean_interval(curated).text()}</td>" in high
    verdicts = quality_verdicts(quality_run(curated, noisy)).set_index("label_noise")
    assert verdicts.loc[0.6, "verdict"] == "held" and verdicts.loc[0.2, "verdict"] == "did not hold"
    assert "<strong>Quality over quantity at 60% noise: held</strong>" in high
    assert "<strong>Quality over quantity at 20% noise: did not hold</strong>" in low
    assert f"= {verdicts.loc[0.6, 'difference']:+.3f} [{verdicts.loc[0.6, 'low']:+.3f}," in high
    assert "held at 1." in high and "<strong>" not in clean and "judges the noise levels above zero" in clean
    assert noise_summary(frame, 0) == clean  # an integer level from the page's JSON is the same setting
    with pytest.raises(UsageError, match="label_noise"):
        noise_summary(frame, 0.4)


def test_curve_summary_shows_a_size_its_forecast_and_the_claim_judged_there() -> None:
    frame = curve_run(0.9, -4 * FORECAST_MARGIN).rows()  # the curve bends beyond 100 rows: (b) did not hold
    result = curve_verdicts(CurveRun.from_rows(frame), 100)
    budget, inside, beyond = (
        curve_summary(frame, 100 // 8, 100),
        curve_summary(frame, 4, 100),
        curve_summary(frame, 50, 100),
    )
    assert len({budget, inside, beyond}) == 3
    values = frame[(frame.arm == "probe") & (frame.train_rows == 400)].accuracy
    assert f"<td>probe accuracy</td><td>{mean_interval(values.to_numpy()).text()}</td>" in beyond
    assert "50 examples per tool (400 training rows): mean over 5 seeds" in beyond
    assert "<td>zero-shot accuracy (no training)</td><td>0.300</td>" in beyond
    row = result.forecast.set_index("train_rows").loc[400]
    assert f"<td>{row.predicted:.3f}</td>" in beyond and f"{row.measured_minus_forecast:+.3f}" in beyond
    assert "<strong>Forecast at 400 rows: did not hold</strong>" in beyond
    assert "(b), at every size beyond the fitted range: <strong>did not hold</strong>" in beyond
    assert "<strong>(a) held</strong>, judged at this size" in budget and str(result.gain) in budget
    assert "judged at 100 rows, the largest fitted size" in inside and "Forecast" not in inside
    # the fit range is a setting too: fitted on every size, nothing is left to forecast
    everything = curve_summary(frame, 50, 400)
    assert everything != beyond and "(b) not evaluated" in everything and "up to 400 rows" in everything
    with pytest.raises(UsageError, match="examples per tool"):
        curve_summary(frame, 3, 100)
