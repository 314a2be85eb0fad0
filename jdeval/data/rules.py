"""Validation rules: errors (the data cannot be used) and findings (compliance issues).

Errors (severity ``error``)
    types, enums, ranges (money ≥ 0, Likert 1–5 …), required values, primary-key
    uniqueness, foreign keys, date order within an award (application ≤ review ≤
    publicity start ≤ publicity end ≤ approval ≤ disbursement), disbursed ≤ approved,
    统一社会信用代码 check digit (GB 32100-2015), diagnosis report after diagnosis.
Findings (severity ``finding``; valid data showing a compliance problem, what the
indicator scoring measures later; they never block loading), for approved awards
    over the category cap (or, for DIAG, over the fee paid); any of the six O2 checks
    false; publicity shorter than the minimum working days; disbursement more than
    ``late_payment_days`` after approval; still undisbursed that long after approval
    (relative to the latest date in the awards table); clawback; unresolved publicity
    objections; DIAG firm not 规上 in the batch year; firm outside manufacturing.
Warnings: ``first_award_year`` inconsistent with the awards, ``amount_within_cap``
    flag inconsistent with the amounts.

At most :data:`MAX_PER_RULE` located problems are listed per table, column and rule;
a final problem then states how many more there are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

import numpy as np
import pandas as pd

from jdeval.data.contract import Contract
from jdeval.data.uscc import valid_uscc_mask
from jdeval.errors import Problem

__all__ = ["Checker", "MAX_PER_RULE", "APPROVED_STATUSES", "AWARD_DATE_ORDER"]

MAX_PER_RULE = 50
APPROVED_STATUSES = ("approved", "disbursed", "clawed_back")
AWARD_DATE_ORDER = (
    "application_date",
    "review_date",
    "publicity_start",
    "publicity_end",
    "approval_date",
    "disbursement_date",
)
_O2 = {
    "expert_review_done": ("未经专家评审", "no expert review"),
    "publicity_done": ("未公示", "no publicity"),
    "eligibility_ok": ("资格不符", "eligibility not confirmed"),
    "amount_within_cap": ("金额超标准(标记)", "amount flagged over the cap"),
    "docs_complete": ("材料不齐", "documents incomplete"),
    "no_duplicate_funding": ("重复资助", "duplicate funding"),
}


def _val(v):
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    return v


class Checker:
    """Collects located problems with a cap per (table, column, rule, severity)."""

    def __init__(self, files: dict[str, str]):
        self.files = files
        self.items: list[Problem] = []
        self._count: dict[tuple, int] = defaultdict(int)

    def add(self, severity, code, zh, en, *, table, row=None, column=None, value=None):
        key = (table, column, code, severity)
        self._count[key] += 1
        if self._count[key] > MAX_PER_RULE:
            return
        self.items.append(
            Problem(
                severity,
                code,
                zh,
                en,
                file=getattr(row, "where", None) or self.files.get(table),
                table=table,
                row=None if row is None else int(row),
                column=column,
                value=_val(value),
            )
        )

    def many(self, severity, code, zh, en, *, table, rows, column=None, values=None):
        """Add one problem per flagged row (``rows`` are user row numbers)."""
        values = [None] * len(rows) if values is None else list(values)
        for r, v in zip(rows, values):
            self.add(severity, code, zh, en, table=table, row=r, column=column, value=v)

    def flag(
        self, severity, code, zh, en, *, table, rows, mask, column=None, values=None
    ):
        """Add one problem per row where ``mask`` is true.

        ``rows`` (user row numbers) and ``values`` (shown values, or ``None``) cover
        every row of the table; ``mask`` selects the flagged ones.
        """
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        self.many(
            severity,
            code,
            zh,
            en,
            table=table,
            rows=rows[mask],
            column=column,
            values=None if values is None else values[mask].tolist(),
        )

    def finish(self) -> list[Problem]:
        out = list(self.items)
        for (table, column, code, severity), n in self._count.items():
            if n > MAX_PER_RULE:
                out.append(
                    Problem(
                        severity,
                        code,
                        f"同类问题另有 {n - MAX_PER_RULE} 处未逐一列出（共 {n} 处）",
                        f"{n - MAX_PER_RULE} more of the same not listed ({n} in total)",
                        file=self.files.get(table),
                        table=table,
                        column=column,
                    )
                )
        return out


def check_columns(
    ck: Checker,
    contract: Contract,
    name: str,
    df: pd.DataFrame,
    rows,
    skip: Collection[str] = (),
) -> None:
    """Required values, ranges, enum and USCC rules of one table.

    Columns in ``skip`` (absent from the input, already reported) are not checked.
    """
    t = contract[name]
    for col in t.columns.values():
        if col.name in skip:
            continue
        s = df[col.name]
        if not col.nullable:
            ck.flag(
                "error",
                "missing_value",
                f"{col.zh}（{col.name}）不能为空",
                f"{col.name} ({col.en}) must not be empty",
                table=name,
                rows=rows,
                mask=s.isna().to_numpy(),
                column=col.name,
            )
        if col.type in ("money", "float", "int") and (
            col.min is not None or col.max is not None
        ):
            v = s.astype("float64")
            low = (v < col.min).fillna(False).to_numpy() if col.min is not None else 0
            high = (v > col.max).fillna(False).to_numpy() if col.max is not None else 0
            if col.name == "first_award_year":
                low = ((v != 0) & (v < contract.year_min)).fillna(False).to_numpy()
            if col.type == "money" and np.any(low):
                zh, en, code = (
                    f"{col.zh}不能为负数",
                    f"{col.name} must not be negative",
                    "negative",
                )
            else:
                rng = f"{col.min if col.min is not None else ''}–{col.max if col.max is not None else ''}"
                zh, en, code = (
                    f"{col.zh}超出允许范围 {rng}",
                    f"{col.name} outside the allowed range {rng}",
                    "range",
                )
            ck.flag(
                "error",
                code,
                zh,
                en,
                table=name,
                rows=rows,
                mask=low | high,
                column=col.name,
                values=s,
            )
        if col.type == "date":
            lo, hi = pd.Timestamp(contract.date_min), pd.Timestamp(contract.date_max)
            ck.flag(
                "error",
                "date_range",
                f"{col.zh}超出合理日期范围 {contract.date_min} 至 {contract.date_max}",
                f"{col.name} outside {contract.date_min} … {contract.date_max}",
                table=name,
                rows=rows,
                mask=((s < lo) | (s > hi)).fillna(False).to_numpy(),
                column=col.name,
                values=s,
            )
        if col.type == "uscc":
            vals = s.to_numpy(dtype=object)
            present = np.array([isinstance(v, str) for v in vals], bool)
            ck.flag(
                "error",
                "uscc",
                "统一社会信用代码无效（应为 18 位且校验码符合 GB 32100-2015）",
                "Invalid unified social credit code (18 characters with a GB "
                "32100-2015 check digit)",
                table=name,
                rows=rows,
                mask=present & ~valid_uscc_mask(vals),
                column=col.name,
                values=vals,
            )


def check_primary_key(ck: Checker, contract: Contract, name: str, df, rows) -> None:
    pk = list(contract[name].primary_key)
    if df.empty:
        return
    dup = df.duplicated(pk, keep=False).to_numpy()
    if not dup.any():
        return
    first_row = {}
    keys = df.loc[dup, pk].astype(str).agg("|".join, axis=1)
    for key, r in zip(keys, rows[dup]):
        if key not in first_row:
            first_row[key] = r
            continue
        ck.add(
            "error",
            "pk_duplicate",
            f"主键重复：{'+'.join(pk)} = {key}，与第 {first_row[key]} 行相同（每个键只能有一行）",
            f"Duplicate key {'+'.join(pk)} = {key}, same as row {first_row[key]} "
            "(one row per key)",
            table=name,
            row=r,
            column=pk[-1],
            value=key,
        )


def _isin(s: pd.Series, ref: pd.Series) -> np.ndarray:
    """``s.isin(ref)`` for string columns, computed by Arrow (fast for large keys)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(s, type=pa.string(), from_pandas=True)
        values = pa.array(pd.unique(ref.astype(str)), type=pa.string())
        return pc.is_in(arr, value_set=values).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return s.isin(ref).to_numpy()


def check_foreign_keys(
    ck: Checker, contract: Contract, tables: dict, rows: dict, present: set[str]
) -> None:
    for name, t in contract.tables.items():
        df = tables[name]
        for col in t.columns.values():
            if not col.fk:
                continue
            ref_t, ref_c = col.fk.split(".")
            if ref_t not in present or df.empty:
                continue
            s = df[col.name]
            ck.flag(
                "error",
                "fk",
                f"{col.zh} 在 {ref_t} 表中不存在（外键 {col.fk}）",
                f"{col.name} not found in table {ref_t} (foreign key {col.fk})",
                table=name,
                rows=rows[name],
                mask=s.notna().to_numpy() & ~_isin(s, tables[ref_t][ref_c].dropna()),
                column=col.name,
                values=s,
            )


def check_awards(
    ck: Checker,
    contract: Contract,
    tables: dict,
    rows: dict,
    present: set[str],
    as_of: pd.Timestamp | None = None,
) -> None:
    """Error rules and compliance findings of the awards table.

    "Still undisbursed" is measured at ``as_of`` when given, else at the latest date
    in the awards table.
    """
    a = tables["awards"]
    if a.empty:
        return
    r = rows["awards"]
    # date order (errors)
    prev_val = pd.Series(pd.NaT, index=a.index, dtype="datetime64[ns]")
    prev_name = pd.Series("", index=a.index, dtype=object)
    for c in AWARD_DATE_ORDER:
        cur = a[c]
        bad = (cur.notna() & prev_val.notna() & (cur < prev_val)).to_numpy()
        for i in np.flatnonzero(bad):
            ck.add(
                "error",
                "date_order",
                f"{contract['awards'].columns[c].zh}早于{contract['awards'].columns[prev_name.iloc[i]].zh}"
                "（应为 申报 ≤ 评审 ≤ 公示开始 ≤ 公示结束 ≤ 批准 ≤ 拨付）",
                f"{c} is before {prev_name.iloc[i]} (expected application ≤ review ≤ "
                "publicity start ≤ publicity end ≤ approval ≤ disbursement)",
                table="awards",
                row=r[i],
                column=c,
                value=cur.iloc[i],
            )
        upd = cur.notna()
        prev_val = prev_val.where(~upd, cur)
        prev_name = prev_name.where(~upd, c)
    ck.flag(
        "error",
        "disbursed_gt_approved",
        "已拨付金额大于核定补贴金额",
        "disbursed_amount exceeds approved_amount",
        table="awards",
        rows=r,
        mask=(a["disbursed_amount"] > a["approved_amount"]).fillna(False).to_numpy(),
        column="disbursed_amount",
        values=a["disbursed_amount"],
    )
    for btype, col in (("enterprise", "firm_id"), ("provider", "provider_id")):
        ck.flag(
            "error",
            "missing_value",
            f"受益主体为 {btype} 时 {col} 不能为空",
            f"{col} is required when beneficiary_type is {btype}",
            table="awards",
            rows=r,
            mask=((a["beneficiary_type"] == btype) & a[col].isna())
            .fillna(False)
            .to_numpy(),
            column=col,
        )

    # findings on approved awards
    ok = a["status"].isin(APPROVED_STATUSES).fillna(False).to_numpy()
    caps = a["category"].map(contract.caps())
    cap = a["cap_amount"].fillna(caps)
    ck.flag(
        "finding",
        "over_cap",
        "核定补贴金额超过该类别补贴标准/上限",
        "approved_amount exceeds the category cap",
        table="awards",
        rows=r,
        mask=ok & (a["approved_amount"] > cap).fillna(False).to_numpy(),
        column="approved_amount",
        values=a["approved_amount"],
    )
    ck.flag(
        "finding",
        "over_eligible_cost",
        "诊断补贴超过实际支付的诊断费用",
        "DIAG award exceeds the diagnosis fee paid",
        table="awards",
        rows=r,
        mask=ok
        & ((a["category"] == "DIAG") & (a["approved_amount"] > a["eligible_cost"]))
        .fillna(False)
        .to_numpy(),
        column="approved_amount",
        values=a["approved_amount"],
    )
    for flag, (zh, en) in _O2.items():
        ck.flag(
            "finding",
            f"o2_{flag}",
            f"补贴审核不规范：{zh}",
            f"Review compliance: {en}",
            table="awards",
            rows=r,
            mask=ok & a[flag].eq(False).fillna(False).to_numpy(),
            column=flag,
        )
    ck.flag(
        "warning",
        "flag_inconsistent",
        "“金额未超标准”标记为是，但金额超过上限",
        "amount_within_cap is true but the amount exceeds the cap",
        table="awards",
        rows=r,
        mask=ok
        & (a["amount_within_cap"].eq(True) & (a["approved_amount"] > cap))
        .fillna(False)
        .to_numpy(),
        column="amount_within_cap",
    )
    pub = a[["publicity_start", "publicity_end"]].notna().all(axis=1).to_numpy() & ok
    if pub.any():
        start = a.loc[pub, "publicity_start"].to_numpy().astype("datetime64[D]")
        end = a.loc[pub, "publicity_end"].to_numpy().astype("datetime64[D]")
        wd = np.busday_count(start, end + np.timedelta64(1, "D"))
        short = np.zeros(len(a), bool)
        short[np.flatnonzero(pub)[wd < contract.min_publicity_days]] = True
        ck.flag(
            "finding",
            "publicity_short",
            f"公示期少于 {contract.min_publicity_days} 个工作日",
            f"Publicity shorter than {contract.min_publicity_days} working days",
            table="awards",
            rows=r,
            mask=short,
            column="publicity_end",
        )
    lag = (a["disbursement_date"] - a["approval_date"]).dt.days
    ck.flag(
        "finding",
        "late_payment",
        f"批准后超过 {contract.late_payment_days} 天才拨付",
        f"Disbursed more than {contract.late_payment_days} days after approval",
        table="awards",
        rows=r,
        mask=ok & (lag > contract.late_payment_days).fillna(False).to_numpy(),
        column="disbursement_date",
        values=lag,
    )
    latest = (
        as_of
        if as_of is not None
        else pd.concat([a[c] for c in AWARD_DATE_ORDER]).max()
    )
    if pd.notna(latest):
        waiting = (latest - a["approval_date"]).dt.days
        ck.flag(
            "finding",
            "undisbursed_overdue",
            f"批准超过 {contract.late_payment_days} 天仍未拨付",
            f"Still not disbursed more than {contract.late_payment_days} days after "
            "approval",
            table="awards",
            rows=r,
            mask=ok
            & (a["disbursement_date"].isna() & (waiting > contract.late_payment_days))
            .fillna(False)
            .to_numpy(),
            column="disbursement_date",
            values=waiting,
        )
    ck.flag(
        "finding",
        "clawback",
        "补贴资金被追回",
        "Subsidy clawed back",
        table="awards",
        rows=r,
        mask=a["clawback"].eq(True).fillna(False).to_numpy()
        | (a["status"] == "clawed_back").fillna(False).to_numpy(),
        column="clawback",
    )
    ck.flag(
        "finding",
        "objection_unresolved",
        "公示异议未处理",
        "Publicity objection unresolved",
        table="awards",
        rows=r,
        mask=ok & a["publicity_objection_resolved"].eq(False).fillna(False).to_numpy(),
        column="publicity_objection_resolved",
    )
    if "firm_year" in present and not tables["firm_year"].empty:
        fy = tables["firm_year"]
        above = fy.set_index(["firm_id", "year"])["is_above_scale"]
        above = above[~above.index.duplicated()]
        diag = (
            ok
            & (a["category"] == "DIAG").fillna(False).to_numpy()
            & a["firm_id"].notna().to_numpy()
        )
        if diag.any():
            idx = pd.MultiIndex.from_arrays(
                [a.loc[diag, "firm_id"], a.loc[diag, "batch_year"]]
            )
            flag = above.reindex(idx).to_numpy()
            bad = np.zeros(len(a), bool)
            bad[
                np.flatnonzero(diag)[
                    pd.Series(pd.array(flag, dtype="boolean"))
                    .eq(False)
                    .fillna(False)
                    .to_numpy()
                ]
            ] = True
            ck.flag(
                "finding",
                "diag_not_above_scale",
                "诊断补贴企业在申报年度不是规上企业",
                "DIAG beneficiary not above designated size in the batch year",
                table="awards",
                rows=r,
                mask=bad,
                column="firm_id",
                values=a["firm_id"],
            )


def check_other(
    ck: Checker, contract: Contract, tables: dict, rows: dict, present: set[str]
) -> None:
    """Rules of the remaining tables."""
    d = tables["diagnoses"]
    if not d.empty:
        ck.flag(
            "error",
            "date_order",
            "诊断报告日期早于线下诊断日期",
            "report_date is before offline_diag_date",
            table="diagnoses",
            rows=rows["diagnoses"],
            mask=(d["report_date"] < d["offline_diag_date"]).fillna(False).to_numpy(),
            column="report_date",
            values=d["report_date"],
        )
    f = tables["firms"]
    if not f.empty:
        div = pd.to_numeric(f["industry_div"], errors="coerce")
        ck.flag(
            "finding",
            "not_manufacturing",
            "行业大类不在制造业 13–43 范围内，不符合申报条件",
            "industry_div outside manufacturing 13–43 (not eligible)",
            table="firms",
            rows=rows["firms"],
            mask=(f["industry_div"].notna() & ~div.between(13, 43)).to_numpy(),
            column="industry_div",
            values=f["industry_div"],
        )
    fy = tables["firm_year"]
    a = tables["awards"]
    if not fy.empty and "awards" in present:
        ent = a[
            (a["beneficiary_type"] == "enterprise").fillna(False)
            & a["status"].isin(["approved", "disbursed"]).fillna(False)
        ]
        first = ent.groupby("firm_id")["batch_year"].min()
        stated = fy.groupby("firm_id")["first_award_year"].max()
        expected = first.reindex(stated.index).fillna(0).astype("int64")
        mism = stated.fillna(0).astype("int64") != expected
        if mism.any():
            firm_rows = fy.reset_index(drop=True).groupby("firm_id").head(1)
            rmap = dict(zip(firm_rows["firm_id"], rows["firm_year"][firm_rows.index]))
            for fid in stated.index[mism.to_numpy()]:
                ck.add(
                    "warning",
                    "first_award_year",
                    f"首次获补年度与补贴表不一致（补贴表为 {int(expected[fid])}）",
                    f"first_award_year disagrees with the awards table "
                    f"(awards say {int(expected[fid])})",
                    table="firm_year",
                    row=rmap.get(fid),
                    column="first_award_year",
                    value=int(stated[fid]),
                )
