"""The Fellegi–Sunter model: Splink settings, training and scoring.

Everything here is built from Splink's backend-neutral creators (`SettingsCreator`,
comparison-level library, `block_on`) plus a few `CustomLevel`s in plain SQL, so the same
`settings()` runs on DuckDB (`DuckDBAPI`, the default) and on Spark: register the
`prepare_table()` output as a Spark DataFrame with `SparkAPI(spark_session=...)` and pass it
with `settings()` to `train()`/`score()` - or train once on DuckDB, save the model with
`linker.misc.save_model_to_json()` and load that JSON as the settings on Spark.

Comparisons and why their levels are there (every m and u is learnt from the records being
matched: u by random sampling, m by expectation maximisation, so the Bayes factors fit the
population and the way its front desks err):
- given: exact (term-frequency adjusted: two "John"s say less than two "Thaddeus"es),
  nickname (keys intersect: Bob/Robert), one keying error (Damerau-Levenshtein 1), similar
  (Jaro-Winkler 0.9), given and family transposed (each close to the other's), middle name
  used as given, two keying errors, half transposed (one record's given name is the other's
  family name: transposed and then also misspelt or left out), loosely similar
  (Jaro-Winkler 0.75), else.
- family: exact (term-frequency adjusted), maiden name on one side, one keying error,
  similar, transposed, two keying errors, half transposed, loosely similar, else.
- middle: exact, same initial, else (a missing middle name is no evidence either way).
- dob: exact, day and month transposed, year one off (same day and month), one digit
  wrong, within about a year (two slips at once), else.
- sex, phone: exact or not.
- address: exact line, similar line, the same words in another order or spacing (with the
  same house number), same ZIP only, else.
- ssn: exact, a serial a few numbers on (twins' numbers, or a slip on the last digit),
  one digit wrong or two transposed, two digits, else.
- mrn: the same MRN twice (two feeds registering one patient). Its m and u are fixed, not
  trained: within one facility MRNs never repeat, so there is nothing to learn from.

Training (`train`): the match rate from sure rules, u from random pairs of the data, m by EM
in two passes, blocked on the SSN (which trains every comparison but the SSN) and on birth
date with the family name's Soundex (which trains the SSN). Look-alikes that EM cannot tell
from duplicates (twins share a birth date, surname, address) are the scan's household guard's
job (scan.py), not the model's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import splink.comparison_level_library as cll
import splink.comparison_library as cl
import sqlglot
from splink import DuckDBAPI, Linker, SettingsCreator, block_on
from sqlglot import exp

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


# A full ISO date: the one shape of birth date that DuckDB and Spark read alike (Spark reads
# a partial FHIR date, "1963" or "1963-05", as the first of the year or month; DuckDB does not)
_ISO_DATE = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


class _Level(cll.CustomLevel):
    """A level written in DuckDB's SQL, which DuckDB runs as written. For another backend
    (Spark) sqlglot translates it, and this adds what sqlglot cannot know: the names that
    backend's Splink gives the string similarities (on Spark, UDFs: `jaro_winkler`, not
    DuckDB's `jaro_winkler_similarity`; spark.py makes it compute DuckDB's), and dates read
    from full ISO dates only, so that both backends put every pair on the same level."""

    def __init__(self, sql: str):
        super().__init__(sql, base_dialect_str="duckdb")

    def create_sql(self, sql_dialect) -> str:
        if sql_dialect.sql_dialect_str == "duckdb":
            return self.sql_condition

        def port(node):
            if isinstance(node, exp.JarowinklerSimilarity):
                return exp.func(sql_dialect.jaro_winkler_function_name, node.this, node.expression)
            if isinstance(node, exp.Anonymous) and node.name.lower() == "damerau_levenshtein":
                return exp.func(sql_dialect.damerau_levenshtein_function_name, *node.expressions)
            if isinstance(node, exp.TryCast) and node.to.is_type(exp.DataType.Type.DATE):
                full = exp.RegexpLike(
                    this=node.this.copy(), expression=exp.Literal.string(_ISO_DATE)
                )
                return exp.Case(ifs=[exp.If(this=full, true=node.copy())])
            return node

        tree = sqlglot.parse_one(self.sql_condition, read="duckdb").transform(port)
        return tree.sql(dialect=sql_dialect.sqlglot_dialect)


def _custom(sql: str) -> cll.CustomLevel:
    return _Level(sql)


def _comparison(name: str, null_col: str, levels: list) -> cl.CustomComparison:
    out = [cll.NullLevel(null_col)]
    out += [level.configure(label_for_charts=label) for level, label in levels]
    return cl.CustomComparison(output_column_name=name, comparison_levels=out)


# given and family exchanged, each allowing a keying error of its own
_SWAPPED = (
    "jaro_winkler_similarity(given_n_l, family_n_r) >= 0.8"
    " AND jaro_winkler_similarity(family_n_l, given_n_r) >= 0.8"
)
# exchanged, and one of the two then also changed (a nickname, a typo) or left out
_HALF_SWAPPED = (
    "jaro_winkler_similarity(given_n_l, family_n_r) >= 0.9"
    " OR jaro_winkler_similarity(family_n_l, given_n_r) >= 0.9"
)


# the comparisons' output names, in order
COMPARISONS = ("given", "family", "middle", "dob", "sex", "address", "phone", "ssn", "mrn")


def _keying_errors(col: str, n: int) -> cll.CustomLevel:
    """At most `n` keying errors (Damerau-Levenshtein), the lengths checked first: most
    pairs compared are strangers whose names differ in length, and the length is cheap."""
    return _custom(
        f"abs(length({col}_l) - length({col}_r)) <= {n}"
        f" AND damerau_levenshtein({col}_l, {col}_r) <= {n}"
    )


def comparisons(present: set[str] | None = None) -> list:
    """The model's comparisons (see the module docstring); with `present` (the columns
    that hold a value somewhere), only those that can say anything: a comparison whose
    column is empty throughout is the null level for every pair, costs a training query
    and a CASE per pair, and moves no weight."""
    c = _custom
    given = [
        (cll.ExactMatchLevel("given_n", term_frequency_adjustments=True), "exact"),
        (cll.ArrayIntersectLevel("given_keys", 1), "nickname"),
        (_keying_errors("given_n", 1), "typo"),
        (cll.JaroWinklerLevel("given_n", 0.9), "similar"),
        (c(_SWAPPED), "swapped"),
        (c("given_n_l = middle_n_r OR middle_n_l = given_n_r"), "middle as given"),
        (_keying_errors("given_n", 2), "two typos"),
        (c(_HALF_SWAPPED), "half swapped"),
        (cll.JaroWinklerLevel("given_n", 0.75), "loosely similar"),
        (cll.ElseLevel(), "different"),
    ]
    family = [
        (cll.ExactMatchLevel("family_n", term_frequency_adjustments=True), "exact"),
        (c("family_n_l = maiden_n_r OR maiden_n_l = family_n_r"), "maiden name"),
        (_keying_errors("family_n", 1), "typo"),
        (cll.JaroWinklerLevel("family_n", 0.9), "similar"),
        (c(_SWAPPED), "swapped"),
        (_keying_errors("family_n", 2), "two typos"),
        (c(_HALF_SWAPPED), "half swapped"),
        (cll.JaroWinklerLevel("family_n", 0.75), "loosely similar"),
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
        (
            c(
                "dob_md_l = dob_md_r AND abs(try_cast(birth_year_l AS INTEGER)"
                " - try_cast(birth_year_r AS INTEGER)) = 1"
            ),
            "year one off",
        ),
        (cll.DamerauLevenshteinLevel("dob", 1), "one digit"),
        # two slips at once (the year and the day, a swap and the year): still within about
        # a year, where a parent, a child or a sibling rarely is
        (
            c(
                "abs(date_diff('day', try_cast(dob_l AS DATE), try_cast(dob_r AS DATE))) <= 400"
                " OR abs(date_diff('day', try_cast(dob_swap_l AS DATE), try_cast(dob_r AS DATE)))"
                " <= 400 OR damerau_levenshtein(dob_l, dob_r) <= 2"
            ),
            "within a year",
        ),
        (cll.ElseLevel(), "different"),
    ]
    address = [
        (cll.ExactMatchLevel("address_n"), "exact"),
        (cll.JaroWinklerLevel("address_n", 0.9), "similar"),
        # the same house number (or one left out) and the same words, in another order or
        # spaced otherwise, give or take two keying errors
        (
            c(
                "(address_no_l = address_no_r OR address_no_l IS NULL OR address_no_r IS NULL)"
                " AND abs(length(address_sorted_l) - length(address_sorted_r)) <= 2"
                " AND damerau_levenshtein(address_sorted_l, address_sorted_r) <= 2"
            ),
            "same words",
        ),
        (cll.ExactMatchLevel("zip"), "same zip"),
        (cll.ElseLevel(), "different"),
    ]
    ssn = [
        (cll.ExactMatchLevel("ssn"), "exact"),
        # the same area and group and a serial a few numbers on: issued one after the other,
        # as twins' and triplets' were (a slip on the last digit looks the same); the scan's
        # twin guard does not take it for the same person's number
        (
            c(
                "substr(ssn_l, 1, 5) = substr(ssn_r, 1, 5) AND abs("
                "try_cast(substr(ssn_l, 6, 4) AS INTEGER)"
                " - try_cast(substr(ssn_r, 6, 4) AS INTEGER)) <= 9"
            ),
            "close number",
        ),
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

    def exact_or_not(col: str) -> list:
        return [(cll.ExactMatchLevel(col), "exact"), (cll.ElseLevel(), "different")]

    out = [
        ("given_n", _comparison("given", "given_n", given)),
        ("family_n", _comparison("family", "family_n", family)),
        ("middle_n", _comparison("middle", "middle_n", middle)),
        ("dob", _comparison("dob", "dob", dob)),
        ("sex", _comparison("sex", "sex", exact_or_not("sex"))),
        ("address_n", _comparison("address", "address_n", address)),
        ("phone", _comparison("phone", "phone", exact_or_not("phone"))),
        ("ssn", _comparison("ssn", "ssn", ssn)),
        ("mrn", mrn),
    ]
    return [comp for col, comp in out if present is None or col in present]


def _rules() -> list[tuple[tuple[str, ...], object]]:
    """(the columns a rule keys on, the rule), in the order Splink applies them."""
    return [
        (("ssn",), block_on("ssn")),
        (("mrn",), block_on("mrn")),
        # the birth date with either name's first letter: a Soundex code starts with it, so
        # this admits every pair of one birth date and Soundex, and the names changed past
        # their Soundex (a nickname, a typo in a consonant) too (the birth date alone, or
        # with the sex, would make blocks that grow with the store: a million records hold
        # ~30 a day)
        (("dob", "family_n"), block_on("dob", "substr(family_n, 1, 1)")),
        (("dob", "given_n"), block_on("dob", "substr(given_n, 1, 1)")),
        # day and month transposed: the birth date with day and month in either order
        (("dob_unordered", "family_sdx"), block_on("dob_unordered", "family_sdx")),
        (("given_sdx", "family_sdx"), block_on("given_sdx", "family_sdx", "birth_year")),
        # the birth year one off: a name with the same day and month, and the other name's
        # initial (a Soundex code and a day of the year alone make blocks that grow with
        # the square of the store)
        (
            ("family_sdx", "dob_md", "given_n"),
            block_on("family_sdx", "dob_md", "substr(given_n, 1, 1)"),
        ),
        (
            ("given_sdx", "dob_md", "family_n"),
            block_on("given_sdx", "dob_md", "substr(family_n, 1, 1)"),
        ),
        (("given_n", "family_n"), block_on("given_n", "family_n")),
        # given and family exchanged: few names are common both ways round
        (
            ("given_sdx", "family_sdx"),
            "l.given_sdx = r.family_sdx AND l.family_sdx = r.given_sdx",
        ),
        # both names wrong (nickname and typo, a name missing): the birth date and ZIP
        (("dob", "zip"), block_on("dob", "zip")),
        # the ZIP with the given name's first three letters (and the family name's first:
        # a ZIP with its first names alone is thousands of pairs for a handful of finds)
        (
            ("zip", "given_p3", "family_n"),
            block_on("zip", "given_p3", "substr(family_n, 1, 1)"),
        ),
        (("address_n", "zip"), block_on("address_n", "zip")),
        (("phone", "given_sdx"), block_on("phone", "given_sdx")),
        (("phone", "dob_md"), block_on("phone", "dob_md")),
        # one SSN digit wrong: the intact half with a name or the birth date
        (("ssn_head", "given_sdx"), block_on("ssn_head", "given_sdx")),
        (("ssn_head", "family_sdx"), block_on("ssn_head", "family_sdx")),
        (("ssn_tail", "given_sdx"), block_on("ssn_tail", "given_sdx")),
        (("ssn_tail", "family_sdx"), block_on("ssn_tail", "family_sdx")),
        (("ssn_head", "dob"), block_on("ssn_head", "dob")),
        (("ssn_tail", "dob"), block_on("ssn_tail", "dob")),
    ]


def blocking_rules(present: set[str] | None = None) -> list:
    """Candidate pairs: any rule admits a pair. Each rule keys on two facts or more so that
    its blocks stay small at a million records (tens of records a block at most), and each
    covers errors the others miss; a duplicate escapes only if it breaks every rule at once.
    With `present` (the columns holding a value somewhere), a rule on an empty column is
    left out: it admits nothing and costs a join. `comparisons_per_rule` counts the
    comparisons each one makes."""
    return [rule for cols, rule in _rules() if present is None or all(c in present for c in cols)]


def present_columns(table) -> set[str]:
    """The columns of a prepared table that hold a value in some record."""
    return {name for name in table.column_names if table[name].null_count < table.num_rows}


def comparisons_per_rule(
    table, db_api=None, *, sample: float = 1.0, link_only: bool = False
) -> list[dict]:
    """How many candidate pairs each blocking rule adds over the rules before it (exact
    with `sample` 1.0; Splink's own count, which builds the blocked pairs): the cost of a
    scan is these comparisons, so a rule that grows with the square of the store shows here."""
    from splink.blocking_analysis import count_comparisons_from_blocking_rules

    db_api = db_api or DuckDBAPI()
    counts = count_comparisons_from_blocking_rules(
        _inputs(table, db_api, link_only),
        blocking_rules=blocking_rules(present_columns(table)),
        link_type="link_only" if link_only else "dedupe_only",
        unique_id_column_name="id",
        record_sample_proportion=sample,
    )
    return [
        {
            "rule": c["blocking_rule"],
            "added": int(c["marginal_comparison_count"]),
            "total": int(c["cumulative_comparison_count"]),
        }
        for c in counts
    ]


def settings(present: set[str] | None = None, *, link_only: bool = False) -> SettingsCreator:
    return SettingsCreator(
        link_type="link_only" if link_only else "dedupe_only",
        unique_id_column_name="id",
        comparisons=comparisons(present),
        blocking_rules_to_generate_predictions=blocking_rules(present),
        probability_two_random_records_match=1e-5,
        retain_matching_columns=True,  # with the gamma_ columns: the levels
        retain_intermediate_calculation_columns=True,  # the mw_ columns: Bayes factors
    )


def _inputs(table, db_api, link_only: bool):
    """The table registered as Splink's input: one table, or for a link one per source
    (Splink then pairs records of different sources only, joining the two directly)."""
    if not link_only:
        return db_api.register(table.drop_columns(["source_dataset"]))
    import pyarrow.compute as pc

    sources = sorted(s for s in pc.unique(table["source_dataset"]).to_pylist() if s)
    if len(sources) != 2 or table["source_dataset"].null_count:
        raise ValueError("a link needs every record from one of exactly two sources")
    # the source_dataset column names each record's source for Splink
    return [db_api.register(table.filter(pc.equal(table["source_dataset"], s))) for s in sources]


def linker(table, db_api=None, *, link_only: bool = False) -> Linker:
    """A Linker over the prepared Arrow table (`prepare_table`); DuckDB in memory unless
    `db_api` says otherwise. `link_only`: pairs across the table's two sources only."""

    db_api = db_api or DuckDBAPI()
    present = present_columns(table)
    # the settings are ours and fixed (tests cover them): Splink's validation of them would
    # parse every level's SQL again on each scan
    return Linker(
        _inputs(table, db_api, link_only),
        settings(present, link_only=link_only),
        log_level=logging.ERROR,
        validate_settings=False,
    )


def train(
    lk: Linker, *, n_records: int, on_progress: Progress | None = None, seed: int = 1
) -> None:
    """Estimate the parameters from the data itself (no labels): the match rate, u by
    random sampling, m by EM. `n_records`: how many records the linker holds."""
    say = on_progress or (lambda _msg: None)
    training = lk.training
    say("estimating the match rate")
    training.estimate_probability_two_random_records_match(
        [block_on("ssn", "dob"), block_on("given_n", "family_n", "dob")],
        recall=0.8,
    )
    # A store with no sure duplicates at all (a fresh demo) estimates 0, and a zero prior
    # has no log-odds: floor it at one match in a million pairs.
    model = lk._settings_obj
    model._probability_two_random_records_match = max(
        model._probability_two_random_records_match, 1e-6
    )
    say("estimating u from random pairs")
    # two random pairs a record, at least 20,000 and at most 100,000: enough for the u of
    # every level that matters (exact agreement is term-frequency adjusted anyway; FEBRL3
    # scores the same at 20,000 as at 100,000), and each sampled pair runs every level's
    # string distances, so more pairs were the largest single cost of a small scan
    u_pairs = min(1e5, max(2e4, 2 * n_records))
    training.estimate_u_using_random_sampling(
        max_pairs=u_pairs, seed=seed, min_count_per_level=None, num_chunks=1
    )
    # A level no random pair reached (one SSN digit off: a few in a million pairs) would
    # keep Splink's starting u, about 1%, and count for little; not seen in `u_pairs`
    # random pairs, its u is at most about one in `u_pairs`.
    for comp in model.comparisons:
        for level in comp.comparison_levels:
            if level.is_null_level or level._fix_u_probability:
                continue
            if level._trained_u_median is None:
                level.u_probability = 1 / u_pairs
    # EM, each pass blocked on what the other trains; max_pairs bounds the work on large
    # stores. A store too small or too clean for EM to find duplicates keeps Splink's
    # starting m values for what it could not train.
    for rule in (block_on("ssn"), block_on("dob", "family_sdx")):
        say(f"estimating m by EM ({rule.get_blocking_rule('duckdb').blocking_rule_sql})")
        # A pass that fails (no pairs share the key) leaves Splink's settings without the
        # comparisons it set aside for training: put them back.
        kept = list(model.comparisons)
        try:
            training.estimate_parameters_using_expectation_maximisation(
                rule, estimate_without_term_frequencies=True, max_pairs=3e6
            )
        except Exception as exc:  # Splink raises bare Exceptions here
            model.comparisons = kept
            log.info("EM pass on %s skipped: %s", rule.get_blocking_rule("duckdb"), exc)


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
    """Every pair within each group of record ids, scored with the trained model on the
    linker's own prepared records (Splink's scoring of missing cluster edges: no second
    linker, no term frequencies counted again)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    group_of = {rid: n for n, g in enumerate(groups) for rid in g}
    sub = table.select(["id", "source_dataset"])
    sub = sub.filter(pc.is_in(sub["id"], value_set=pa.array(list(group_of))))
    sub = sub.append_column("cluster_id", pa.array([group_of[r] for r in sub["id"].to_pylist()]))
    if lk._settings_obj._link_type != "link_only":
        sub = sub.drop_columns(["source_dataset"])
    registered = lk._db_api.register(sub)
    scored = lk.inference._score_missing_cluster_edges(
        registered, threshold_match_probability=threshold
    )
    rows = scored.as_pyarrow_table().select(_columns(labels)).to_pylist()
    scored.drop_table_from_database_and_remove_from_cache()
    registered.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)
    return rows
