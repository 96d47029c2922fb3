"""The repair SLA page, described as data (models of dbt/models/reporting/marts)."""

from __future__ import annotations

from reports.layout import ChartSpec, FigureSpec, PageSpec, SectionSpec
from reports.views import Column, columns

SUMMARY_COLUMNS = columns(
    "jobs:Jobs:int",
    "fast_track_jobs:Fast Track:int",
    "met:Met:int",
    "breached:Breached:int",
    "open_breached:Open, late:int",
    "open:Open:int",
    "met_rate:Met rate:pct",
    "median_turnaround:Median turnaround (days):decimal",
    "average_target:Average target (days):decimal",
    "loans_owed:Loans owed:int",
    "small_sample:Small sample:bool",
)
RATE_NOTE = (
    "Met rate = met ÷ (met + breached + open and already late); open jobs still within target wait until their "
    "outcome is known. Bars under the dashed target line ({met_rate_target:.0%}) are orange; pale bars marked n=… "
    "are small samples (fewer jobs than the policy's sla_small_sample_jobs): read them with care."
)


def breakdown(key: str, dimension: str, label: str, title: str, note: str, max_rows: int | None = None) -> SectionSpec:
    """A section of the SLA per category of one dimension of agg_sla_breakdown, drawn as met-rate bars."""
    return SectionSpec(
        key,
        title,
        note + " " + RATE_NOTE,
        "agg_sla_breakdown",
        (Column("category", label), *SUMMARY_COLUMNS),
        ChartSpec("rate", "category", max_rows=max_rows),
        where={"dimension": dimension},
        empty="No service jobs",
        max_rows=max_rows,
        data_description=f"Repair SLA per {label.lower()}",
    )


SLA = PageSpec(
    file_name="sla.html",
    title="Repair SLA (Fast Track)",
    intro="Service jobs as of {as_of:%d %B %Y}: targets in working days, turnaround counted from the working day "
    "after the product arrives up to and including the day it is completed.",
    figures_model="agg_sla_figures",
    figures=(
        FigureSpec(
            "fast_track_met_rate",
            "Fast Track met rate",
            "pct",
            "Fast Track jobs with a known outcome: {fast_track_decided:,}; target {met_rate_target:.0%}",
            emphasis=True,
        ),
        FigureSpec(
            "standard_met_rate",
            "Standard met rate",
            "pct",
            "standard jobs with a known outcome: {standard_decided:,}",
        ),
        FigureSpec("met_rate", "All jobs met rate", "pct", "{decided:,} jobs with a known outcome"),
        FigureSpec("jobs", "Jobs", detail="{fast_track_jobs:,} Fast Track"),
        FigureSpec("median_turnaround", "Median turnaround", "decimal", "completed jobs", " days"),
        FigureSpec("breaches", "Breaches", detail="{open_breached:,} still open"),
        FigureSpec("loans_owed", "Backup loans owed", detail="Gold and Platinum Fast Track"),
        FigureSpec("about_to_breach", "About to breach", detail="open jobs, see the list below"),
    ),
    sections=(
        breakdown("sla_by_service", "service", "Service", "Fast Track and standard jobs", ""),
        SectionSpec(
            "sla_turnaround_by_level",
            "Turnaround against target by member level",
            "Median working days of completed jobs per level (bars) and the average target of the level's jobs "
            "(black line): Platinum, Gold and Silver Fast Track targets are shorter than the standard one.",
            "agg_sla_breakdown",
            columns(
                "category:Level",
                "median_turnaround:Median turnaround (days):decimal",
                "average_target:Average target (days):decimal",
                "jobs:Jobs:int",
            ),
            ChartSpec("turnaround", "category"),
            where={"dimension": "level"},
            empty="No service jobs",
            data_description="Median turnaround and average target per level",
        ),
        breakdown(
            "sla_by_level",
            "level",
            "Level",
            "By member level",
            "The member's level on the night the job was received; jobs of non-members or unknown members have no "
            "level and no Fast Track.",
        ),
        breakdown("sla_by_country", "country", "Country", "By country", "Country of the service centre."),
        breakdown(
            "sla_by_centre",
            "centre",
            "Centre",
            "By service centre",
            "Centres by number of jobs; the 25 busiest are shown, the CSV has all of them.",
            max_rows=25,
        ),
        breakdown(
            "sla_by_received_month",
            "received_month",
            "Month received",
            "By month received",
            "Jobs by the month the product arrived at the workshop.",
        ),
        SectionSpec(
            "sla_about_to_breach",
            "Open jobs about to breach",
            "Open jobs still within their target with at most the policy's sla_about_to_breach_days_left working "
            "days left (target minus working days so far, counted up to and including {as_of:%A %d %B}). 'Loan if "
            "late' marks Gold and Platinum Fast Track jobs, which owe the member a backup loan once late.",
            "agg_sla_about_to_breach",
            columns(
                "job_id:Job",
                "centre:Centre",
                "country:Country",
                "product_sku:Product",
                "member_id:Member",
                "level:Level",
                "fast_track:Fast Track:bool",
                "received_date:Received:date",
                "target_days:Target:int",
                "working_days_elapsed:Days so far:int",
                "working_days_left:Days left:int",
                "loan_if_late:Loan if late:bool",
            ),
            max_rows=200,
            data_description="Open jobs about to breach",
        ),
    ),
)
