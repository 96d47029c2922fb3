"""The repair SLA page, described as data (models of dbt/models/reporting)."""

from __future__ import annotations

from reports.layout import ChartSpec, FigureSpec, PageSpec, SectionSpec
from reports.views import Column

SUMMARY_COLUMNS = (
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
    Column("small_sample", "Small sample", "bool"),
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
            "fast_track_met_rate",
            "pct",
            "Fast Track jobs with a known outcome: {fast_track_decided:,}; target {met_rate_target:.0%}",
            emphasis=True,
        ),
        FigureSpec(
            "standard_met_rate",
            "Standard met rate",
            "standard_met_rate",
            "pct",
            "standard jobs with a known outcome: {standard_decided:,}",
        ),
        FigureSpec("met_rate", "All jobs met rate", "met_rate", "pct", "{decided:,} jobs with a known outcome"),
        FigureSpec("jobs", "Jobs", "jobs", detail="{fast_track_jobs:,} Fast Track"),
        FigureSpec("median_turnaround", "Median turnaround", "median_turnaround", "decimal", "completed jobs", " days"),
        FigureSpec("breaches", "Breaches", "breaches", detail="{open_breached:,} still open"),
        FigureSpec("loans_owed", "Backup loans owed", "loans_owed", detail="Gold and Platinum Fast Track"),
        FigureSpec("about_to_breach", "About to breach", "about_to_breach", detail="open jobs, see the list below"),
    ),
    sections=(
        breakdown("sla_by_service", "service", "Service", "Fast Track and standard jobs", ""),
        SectionSpec(
            "sla_turnaround_by_level",
            "Turnaround against target by member level",
            "Median working days of completed jobs per level (bars) and the average target of the level's jobs "
            "(black line): Platinum, Gold and Silver Fast Track targets are shorter than the standard one.",
            "agg_sla_breakdown",
            (
                Column("category", "Level"),
                Column("median_turnaround", "Median turnaround (days)", "decimal"),
                Column("average_target", "Average target (days)", "decimal"),
                Column("jobs", "Jobs", "int"),
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
            (
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
            ),
            max_rows=200,
            data_description="Open jobs about to breach",
        ),
    ),
)
