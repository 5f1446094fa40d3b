"""The Fellegi–Sunter model: Splink settings, training and scoring.

Everything here is built from Splink's backend-neutral creators (`SettingsCreator`,
comparison-level library, `block_on`) plus a few `CustomLevel`s written in plain SQL
equality, so the same `settings()` runs on DuckDB (`DuckDBAPI`, the default) and on Spark:
register the `prepare_table()` output as a Spark DataFrame with `SparkAPI(spark_session=...)` and
pass it with `settings()` to `train()`/`score()` - or train once on DuckDB, save the model with
`linker.misc.save_model_to_json()` and load that JSON as the settings on Spark.

Comparisons and why their levels are there (the m and u of each level are learnt: u by
random sampling, m by expectation maximisation, so the Bayes factors fit the population):
- given: exact, nickname (keys intersect: Bob/Robert), one keying error, similar (Jaro-
  Winkler), given and family transposed, middle name used as given, else. "Else" is what
  separates twins and family members, who share surname, address and often birth date.
- family: exact, maiden name on one side (married women registered before marriage),
  one keying error, similar, transposed with given, else.
- middle: exact, same initial, else (a missing middle name is no evidence either way).
- dob: exact, day and month transposed, one digit wrong, else.
- sex, phone: exact or not.
- address: exact line, similar line, same ZIP only, else.
- ssn: exact, one digit wrong, two digits wrong (two registrations, one slip each), else.
- mrn: the same MRN twice (two feeds registering one patient). Its m and u are fixed, not
  trained: within one facility MRNs never repeat, so there is nothing to learn from.

Training (`train`): u from random pairs of the data (how often strangers agree: that depends
on the population's names, ZIP codes and phone plan, so it is learnt each scan); m from the
prior `M_PRIORS` below, the rates at which one person's registrations disagree (typo, nickname,
moved...), or optionally by EM (`em=True`). EM is not the default: households are common
among pairs that share a birth date or an address, and EM then learns that "a different given
name" is normal for a match (m of about 0.14 instead of under 0.01 on our test beds), which
is exactly the error that links twins.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


def _custom(sql: str) -> cll.CustomLevel:
    # written in DuckDB's SQL; Splink translates it (sqlglot) for other backends
    return cll.CustomLevel(sql, base_dialect_str="duckdb")


# m: P(level | same person), from how registrations of one person differ in practice
# (keying errors a few per cent, nicknames, a move or a new phone between visits years apart,
# SSN often not given). Fixed-order lists, one per level after the null level.
M_PRIORS = {
    "given": (0.90, 0.035, 0.04, 0.01, 0.003, 0.007, 0.005),
    "family": (0.88, 0.05, 0.045, 0.01, 0.003, 0.012),
    "middle": (0.93, 0.05, 0.02),
    "dob": (0.95, 0.015, 0.025, 0.01),
    "sex": (0.985, 0.015),
    "address": (0.70, 0.05, 0.10, 0.15),
    "phone": (0.70, 0.30),
    "ssn": (0.95, 0.035, 0.005, 0.01),
}


def _comparison(name: str, null_col: str, levels: list, *, priors: bool) -> cl.CustomComparison:
    m = M_PRIORS.get(name)
    out = [cll.NullLevel(null_col)]
    for i, (level, label) in enumerate(levels):
        out.append(
            level.configure(label_for_charts=label, m_probability=m[i])
            if priors and m
            else level.configure(label_for_charts=label)
        )
    return cl.CustomComparison(output_column_name=name, comparison_levels=out)


def comparisons(*, priors: bool = True) -> list:
    """The model's comparisons; `priors`: start from `M_PRIORS` (else Splink's defaults)."""
    c = _custom
    given = [
        (cll.ExactMatchLevel("given_n"), "exact"),
        (cll.ArrayIntersectLevel("given_keys", 1), "nickname"),
        (cll.DamerauLevenshteinLevel("given_n", 1), "typo"),
        (cll.JaroWinklerLevel("given_n", 0.9), "similar"),
        (c("given_n_l = family_n_r AND family_n_l = given_n_r"), "swapped"),
        (c("given_n_l = middle_n_r OR middle_n_l = given_n_r"), "middle as given"),
        (cll.ElseLevel(), "different"),
    ]
    family = [
        (cll.ExactMatchLevel("family_n"), "exact"),
        (c("family_n_l = maiden_n_r OR maiden_n_l = family_n_r"), "maiden name"),
        (cll.DamerauLevenshteinLevel("family_n", 1), "typo"),
        (cll.JaroWinklerLevel("family_n", 0.9), "similar"),
        (c("given_n_l = family_n_r AND family_n_l = given_n_r"), "swapped"),
        (cll.ElseLevel(), "different"),
    ]
    middle = [
        (cll.ExactMatchLevel("middle_n"), "exact"),
        (c("substr(middle_n_l, 1, 1) = substr(middle_n_r, 1, 1)"), "initial"),
        (cll.ElseLevel(), "different"),
    ]
    dob = [
        (cll.ExactMatchLevel("dob"), "exact"),
        (c("dob_swap_l = dob_r"), "day/month transposed"),
        (cll.DamerauLevenshteinLevel("dob", 1), "one digit"),
        (cll.ElseLevel(), "different"),
    ]
    address = [
        (cll.ExactMatchLevel("address_n"), "exact"),
        (cll.JaroWinklerLevel("address_n", 0.9), "similar"),
        (cll.ExactMatchLevel("zip"), "same zip"),
        (cll.ElseLevel(), "different"),
    ]
    ssn = [
        (cll.ExactMatchLevel("ssn"), "exact"),
        (cll.DamerauLevenshteinLevel("ssn", 1), "one digit"),
        # two registrations each with its own slip: two digits apart
        (cll.DamerauLevenshteinLevel("ssn", 2), "two digits"),
        (cll.ElseLevel(), "different"),
    ]
    fixed = {"fix_m_probability": True, "fix_u_probability": True}
    mrn = cl.CustomComparison(
        output_column_name="mrn",
        comparison_levels=[
            cll.NullLevel("mrn"),
            cll.ExactMatchLevel("mrn").configure(
                label_for_charts="exact", m_probability=0.01, u_probability=1e-9, **fixed
            ),
            cll.ElseLevel().configure(
                label_for_charts="different", m_probability=0.99, u_probability=1 - 1e-9, **fixed
            ),
        ],
    )
    return [
        _comparison("given", "given_n", given, priors=priors),
        _comparison("family", "family_n", family, priors=priors),
        _comparison("middle", "middle_n", middle, priors=priors),
        _comparison("dob", "dob", dob, priors=priors),
        _comparison(
            "sex",
            "sex",
            [(cll.ExactMatchLevel("sex"), "exact"), (cll.ElseLevel(), "different")],
            priors=priors,
        ),
        _comparison("address", "address_n", address, priors=priors),
        _comparison(
            "phone",
            "phone",
            [(cll.ExactMatchLevel("phone"), "exact"), (cll.ElseLevel(), "different")],
            priors=priors,
        ),
        _comparison("ssn", "ssn", ssn, priors=priors),
        mrn,
    ]


def blocking_rules() -> list:
    """Candidate pairs: any rule admits a pair. Each rule keeps its blocks small at a
    million records (tens of records a block, at most), and each covers errors the others
    miss: a duplicate escapes only if it breaks every rule at once."""
    return [
        block_on("ssn"),
        block_on("mrn"),
        block_on("dob", "family_sdx"),
        block_on("dob", "given_sdx"),
        # the day/month swap, both ways round (Splink keeps only l.id < r.id)
        "l.dob_swap = r.dob AND l.family_sdx = r.family_sdx",
        "l.dob = r.dob_swap AND l.family_sdx = r.family_sdx",
        block_on("given_sdx", "family_sdx", "birth_year"),
        block_on("address_n", "zip"),
        block_on("phone", "given_sdx", "birth_year"),
    ]


def settings(*, priors: bool = True) -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="id",
        comparisons=comparisons(priors=priors),
        blocking_rules_to_generate_predictions=blocking_rules(),
        probability_two_random_records_match=1e-5,
        retain_matching_columns=True,  # with the gamma_ columns: the levels
        retain_intermediate_calculation_columns=True,  # the mw_ columns: Bayes factors
    )


def linker(table, db_api=None, *, priors: bool = True) -> Linker:
    """A Linker over the prepared Arrow table (`prepare_table`); DuckDB in memory unless
    `db_api` says otherwise."""

    db_api = db_api or DuckDBAPI()
    registered = db_api.register(table)
    return Linker(registered, settings(priors=priors), log_level=logging.WARNING)


def train(
    lk: Linker, *, em: bool = False, on_progress: Progress | None = None, seed: int = 1
) -> None:
    """Estimate the parameters from the data itself (no labels): the match rate, u, and
    with `em` also m (see the module docstring for why m comes from priors by default)."""
    say = on_progress or (lambda _msg: None)
    training = lk.training
    say("estimating the match rate")
    training.estimate_probability_two_random_records_match(
        [block_on("ssn", "dob"), block_on("given_n", "family_n", "dob", "address_n")],
        recall=0.8,
    )
    # A store with no sure duplicates at all (a fresh demo) estimates 0, and a zero prior
    # has no log-odds: floor it at one match in a million pairs.
    model = lk._settings_obj
    model._probability_two_random_records_match = max(
        model._probability_two_random_records_match, 1e-6
    )
    say("estimating u from random pairs")
    # 200k pairs: a few seconds, and every level but the rarest (swapped names) seen often
    # enough; min_count_per_level would chase those through many more passes.
    training.estimate_u_using_random_sampling(
        max_pairs=2e5, seed=seed, min_count_per_level=None, num_chunks=1
    )
    if not em:
        return
    # Two EM passes, each blocking on what the other trains; max_pairs bounds the work.
    for rule in (block_on("dob"), block_on("given_sdx", "family_sdx")):
        say("estimating m by EM")
        training.estimate_parameters_using_expectation_maximisation(
            rule, estimate_without_term_frequencies=True, max_pairs=3e6
        )


def level_labels(lk: Linker) -> dict[str, dict[int, str]]:
    """gamma value -> label, per comparison, for the evidence."""
    out: dict[str, dict[int, str]] = {}
    for comp in lk._settings_obj.comparisons:
        out[comp.output_column_name] = {
            lvl.comparison_vector_value: lvl.label_for_charts for lvl in comp.comparison_levels
        }
    return out


def _columns(labels: dict) -> list[str]:
    return ["id_l", "id_r", "match_weight"] + [f"{p}_{n}" for n in labels for p in ("gamma", "mw")]


def score(lk: Linker, labels: dict, threshold: float | None) -> list[dict]:
    """The blocked candidate pairs scoring at least `threshold` (None: all), as row dicts."""
    scored = lk.inference.predict(threshold_match_probability=threshold, warning_mode="never")
    rows = scored.as_pyarrow_table().select(_columns(labels)).to_pylist()
    scored.drop_table_from_database_and_remove_from_cache()
    return rows


def score_groups(
    lk: Linker,
    labels: dict,
    table,
    groups: list[list[str]],
    threshold: float | None,
) -> list[dict]:
    """Every pair within each group of record ids, scored with the trained model: a second
    linker over just those records, blocking on the group number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    group_of = {rid: n for n, g in enumerate(groups) for rid in g}
    sub = table.filter(pc.is_in(table["id"], value_set=pa.array(list(group_of))))
    sub = sub.append_column("mpi_group", pa.array([group_of[r] for r in sub["id"].to_pylist()]))
    trained = lk.misc.save_model_to_json()
    trained["blocking_rules_to_generate_predictions"] = [
        block_on("mpi_group").get_blocking_rule(lk._sql_dialect_str).as_dict()
    ]
    db_api = lk._db_api  # the same backend (and, for DuckDB, connection) as the scan
    second = Linker(db_api.register(sub), trained, log_level=logging.WARNING)
    return score(second, labels, threshold)
