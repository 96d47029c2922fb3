"""The repair SLA page: met rate, turnaround, breaches and loans owed by centre, country, level and month,
and the open jobs about to breach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from reports import charts
from reports.datasets import DataFolder
from reports.marts import MartsReader
from reports.views import LEVEL_ORDER, NO_LEVEL, Column, Figure, Page, Section, TableView, format_value

# An open job is listed as about to breach when at most this many working days of its target remain.
ABOUT_TO_BREACH_DAYS_LEFT = 1
STATUS_LABELS = {"met": "met", "breached": "breached", "open_breached": "open, late", "open": "open"}


@dataclass(frozen=True)
class JobsQuery:
    """fct_service_jobs of tonight, with the optional columns this warehouse has (received date, centre country)."""

    sql: str
    has_received: bool
    country_source: str

    @classmethod
    def build(cls, marts: MartsReader) -> JobsQuery:
        columns = marts.columns("fct_service_jobs")
        joins = ["left join marts.dim_members as m on j.member_id = m.member_id"]
        received = next((c for c in ("received_at", "received_date", "received_on") if c in columns), None)
        received_expr = f"cast(j.{received} as date)" if received else "cast(null as date)"
        centre_expr = "j.centre_id"
        if "centre_name" in columns:
            centre_expr = "j.centre_id || ' · ' || coalesce(j.centre_name, '')"
        if "centre_country" in columns:
            country_expr, country_source = "j.centre_country", "country of the service centre"
        elif marts.exists("dim_service_centres") and "country" in marts.columns("dim_service_centres"):
            joins.append("left join marts.dim_service_centres as c on j.centre_id = c.centre_id")
            country_expr, country_source = "c.country", "country of the service centre"
            if "name" in marts.columns("dim_service_centres"):
                centre_expr = "j.centre_id || ' · ' || coalesce(c.name, '')"
        else:
            country_expr, country_source = "m.country", "member's country of residence"
        sql = f"""
            with jobs as (
                select j.job_id, j.member_id, j.product_sku, {centre_expr} as centre,
                       coalesce({country_expr}, 'unknown') as country,
                       coalesce(j.level, '{NO_LEVEL}') as level, j.fast_track, j.target_days, j.turnaround_days,
                       j.status, j.loan_owed, {received_expr} as received_date,
                       strftime({received_expr}, '%Y-%m') as received_month
                from marts.fct_service_jobs as j {" ".join(joins)}
                where j.as_of_date = ?
            )
        """
        return cls(sql, received is not None, country_source)


def sla_by(marts: MartsReader, jobs: JobsQuery, dimension: str, expression: str | None = None) -> pd.DataFrame:
    """Jobs per status, met rate, median turnaround and loans owed, per value of one dimension."""
    frame = marts.frame(
        jobs.sql
        + f"""
        select {expression or dimension} as {dimension},
            count(*)::bigint as jobs,
            count(*) filter (where fast_track)::bigint as fast_track_jobs,
            count(*) filter (where status = 'met')::bigint as met,
            count(*) filter (where status = 'breached')::bigint as breached,
            count(*) filter (where status = 'open_breached')::bigint as open_breached,
            count(*) filter (where status = 'open')::bigint as open,
            median(turnaround_days) filter (where status in ('met', 'breached')) as median_turnaround,
            avg(target_days) as average_target,
            count(*) filter (where loan_owed)::bigint as loans_owed
        from jobs group by 1 order by 1
        """,
        [marts.as_of],
    )
    decided = frame["met"] + frame["breached"] + frame["open_breached"]
    frame["met_rate"] = (frame["met"] / decided.where(decided > 0)).astype("float64")
    if dimension == "level":
        rank = {level: index for index, level in enumerate((*LEVEL_ORDER, NO_LEVEL))}
        frame = frame.sort_values("level", key=lambda s: s.map(lambda v: rank.get(v, len(rank))))
    elif dimension in ("centre", "country"):
        frame = frame.sort_values(["jobs", dimension], ascending=[False, True])
    return frame.reset_index(drop=True)


def working_days_after(start: pd.Series, end: np.datetime64) -> np.ndarray:
    """Weekdays after each start date up to and including end (the turnaround count of the rules)."""
    starts = start.values.astype("datetime64[D]") + np.timedelta64(1, "D")
    return np.busday_count(starts, end + np.timedelta64(1, "D"))


def about_to_breach(marts: MartsReader, jobs: JobsQuery) -> pd.DataFrame:
    """Open jobs still within target with at most ABOUT_TO_BREACH_DAYS_LEFT working days left."""
    frame = marts.frame(
        jobs.sql
        + """
        select job_id, centre, country, product_sku, member_id, level, fast_track, received_date,
               target_days, turnaround_days
        from jobs where status = 'open'
        """,
        [marts.as_of],
    )
    elapsed = frame["turnaround_days"].astype("Float64")
    if jobs.has_received and elapsed.isna().any():
        received = pd.to_datetime(frame["received_date"])
        counted = pd.Series(working_days_after(received, np.datetime64(marts.as_of, "D")), index=frame.index)
        elapsed = elapsed.fillna(counted.astype("Float64"))
    frame["working_days_elapsed"] = elapsed
    frame["working_days_left"] = frame["target_days"] - frame["working_days_elapsed"]
    frame["loan_if_late"] = frame["fast_track"] & frame["level"].isin(["Gold", "Platinum"])
    due = frame[frame["working_days_left"].notna() & (frame["working_days_left"] <= ABOUT_TO_BREACH_DAYS_LEFT)]
    columns = [
        "job_id",
        "centre",
        "country",
        "product_sku",
        "member_id",
        "level",
        "fast_track",
        "received_date",
        "target_days",
        "working_days_elapsed",
        "working_days_left",
        "loan_if_late",
    ]
    return due.sort_values(
        ["working_days_left", "loan_if_late", "received_date", "job_id"], ascending=[True, False, True, True]
    )[columns].reset_index(drop=True)


SUMMARY_COLUMNS = [
    Column("jobs", "Jobs", "int"),
    Column("fast_track_jobs", "Fast Track", "int"),
    Column("met", "Met", "int"),
    Column("breached", "Breached", "int"),
    Column("open_breached", "Open, late", "int"),
    Column("open", "Open", "int"),
    Column("met_rate", "Met rate", "pct"),
    Column("median_turnaround", "Median turnaround (days)", "decimal"),
    Column("average_target", "Average target (days)", "decimal"),
    Column("loans_owed", "Loans owed", "int"),
]
STATUS_COUNTS = {"met": "met", "breached": "breached", "open_breached": "open, late", "open": "open"}


def _dimension_section(
    frame: pd.DataFrame,
    dimension: str,
    label: str,
    title: str,
    note: str,
    data: DataFolder,
    max_rows: int | None = None,
) -> Section:
    chart_frame = frame if max_rows is None else frame.head(max_rows)
    chart_id = f"chart-sla-{dimension}"
    if chart_frame.empty:
        chart = charts.empty_chart(chart_id, title, "No service jobs")
    else:
        chart = charts.bars_with_rate(
            chart_id,
            title,
            chart_frame,
            dimension,
            STATUS_COUNTS,
            "met_rate",
            "met rate",
            height=420 if len(chart_frame) > 12 else 380,
        )
    return Section(
        title,
        note,
        chart=chart,
        table=TableView.of(frame, [Column(dimension, label), *SUMMARY_COLUMNS], max_rows=max_rows),
        data_file=data.save(f"sla_by_{dimension}", frame, f"Repair SLA per {label.lower()}"),
    )


def next_working_day(day: date) -> date:
    return day + timedelta(days={4: 3, 5: 2}.get(day.weekday(), 1))


def about_to_breach_rule(as_of: date) -> str:
    """The listing rule in plain words, with tonight's dates."""
    return (
        f"Open jobs still within their target with at most {ABOUT_TO_BREACH_DAYS_LEFT} working day left "
        f"(target minus working days so far, counted up to and including {as_of:%A %d %B}). A job with 0 days left "
        f"breaches unless it is completed on {as_of:%A %d %B}; with 1 day left, unless it is completed by "
        f"{next_working_day(as_of):%A %d %B}. 'Loan if late' marks Gold and Platinum Fast Track jobs, which would "
        "owe the member a backup loan once late."
    )


def build_sla(marts: MartsReader, data: DataFolder) -> Page:
    page = Page(
        "sla.html",
        "Repair SLA (Fast Track)",
        f"Service jobs as of {marts.as_of:%d %B %Y}: targets in working days, turnaround counted from the "
        "working day after the product arrives up to and including the day it is completed.",
    )
    jobs = JobsQuery.build(marts)
    overall = sla_by(marts, jobs, "scope", "'all jobs'")
    totals = overall.iloc[0] if len(overall) else None
    due = about_to_breach(marts, jobs)

    def total(column: str) -> int:
        return int(totals[column]) if totals is not None else 0

    breaches = total("breached") + total("open_breached")
    page.figures = [
        Figure("Jobs", format_value(total("jobs"), "int"), f"{total('fast_track_jobs'):,} Fast Track"),
        Figure(
            "Met rate",
            format_value(totals["met_rate"] if totals is not None else None, "pct"),
            "of jobs with a known outcome",
        ),
        Figure(
            "Median turnaround",
            format_value(totals["median_turnaround"] if totals is not None else None, "decimal") + " days",
            "completed jobs",
        ),
        Figure("Breaches", format_value(breaches, "int"), f"{total('open_breached'):,} still open"),
        Figure("Backup loans owed", format_value(total("loans_owed"), "int"), "Gold and Platinum Fast Track"),
        Figure("About to breach", format_value(len(due), "int"), "open jobs, see the list below"),
    ]
    rule_note = (
        "Met rate = met ÷ (met + breached + open and already late): open jobs still within target are left out "
        "until their outcome is known. Median turnaround is over completed jobs."
    )
    service = sla_by(marts, jobs, "service", "case when fast_track then 'Fast Track' else 'Standard' end")
    page.sections.append(
        _dimension_section(service, "service", "Service", "Fast Track and standard jobs", rule_note, data)
    )
    if jobs.has_received:
        months = sla_by(marts, jobs, "received_month")
        page.sections.append(
            _dimension_section(
                months,
                "received_month",
                "Month received",
                "By month received",
                "Jobs by the month the product arrived at the workshop.",
                data,
            )
        )
    else:
        page.sections.append(
            Section(
                "By month received",
                warning="The published service jobs carry no received "
                "date, so the monthly view is not available for this night.",
            )
        )
    levels = sla_by(marts, jobs, "level")
    page.sections.append(
        _dimension_section(
            levels,
            "level",
            "Level",
            "By member level",
            "The member's level on the night the job was received; jobs of "
            "non-members or unknown members have no level and no Fast Track.",
            data,
        )
    )
    countries = sla_by(marts, jobs, "country")
    page.sections.append(
        _dimension_section(
            countries, "country", "Country", "By country", f"Country here is the {jobs.country_source}.", data
        )
    )
    centres = sla_by(marts, jobs, "centre")
    shown = 25
    centre_note = "Centres by number of jobs"
    if len(centres) > shown:
        centre_note += f"; the {shown} busiest are shown, the CSV has all of them"
    page.sections.append(
        _dimension_section(centres, "centre", "Centre", "By service centre", centre_note + ".", data, max_rows=shown)
    )

    page.sections.append(
        Section(
            "Open jobs about to breach",
            about_to_breach_rule(marts.as_of),
            table=TableView.of(
                due,
                [
                    Column("job_id", "Job"),
                    Column("centre", "Centre"),
                    Column("country", "Country"),
                    Column("product_sku", "Product"),
                    Column("member_id", "Member"),
                    Column("level", "Level"),
                    Column("fast_track", "Fast Track", "bool"),
                    Column("received_date", "Received", "date"),
                    Column("target_days", "Target", "int"),
                    Column("working_days_elapsed", "Days so far", "int"),
                    Column("working_days_left", "Days left", "int"),
                    Column("loan_if_late", "Loan if late", "bool"),
                ],
                max_rows=200,
            ),
            data_file=data.save("sla_about_to_breach", due, "Open jobs with at most one working day left"),
        )
    )
    return page
