-- Every service job as of D with the member's level at the job, Fast Track, the SLA target in
-- working days, the turnaround, the SLA status and whether a backup loan is owed (doc
-- repair_sla). The Fast Track target and the loan come with the level from int_level_ladder.
with jobs as (
    select
        c.*,
        coalesce(q.is_fast_track, false) as fast_track,
        l.fast_track_target_days,
        coalesce(l.loan_eligible, false) as level_loan_eligible
    from {{ ref('int_service_job_candidates') }} as c
    left join {{ ref('int_service_fast_track_queue') }} as q on c.job_id = q.job_id
    left join {{ ref('int_level_ladder') }} as l on c.level = l.level
),

targeted as (
    select
        *,
        -- a video product never gets a target below the video minimum, with or without Fast Track
        greatest(
            case
                when not fast_track then {{ policy_integer('sla_standard_days') }}
                else fast_track_target_days
            end,
            case when is_video then {{ policy_integer('sla_video_min_days') }} else 0 end
        ) as target_days,
        case
            when completed_date is not null then {{ working_days_between('received_date', 'completed_date') }}
        end as turnaround_days,
        {{ working_days_between('received_date', 'coalesce(completed_date, ' ~ as_of_date() ~ ')') }}
            as working_days_elapsed
    from jobs
),

with_status as (
    select
        *,
        case
            when completed_date is not null and turnaround_days <= target_days then 'met'
            when completed_date is not null then 'breached'
            when working_days_elapsed <= target_days then 'open'
            else 'open_breached'
        end as status,
        -- a late Fast Track job of a member whose level carries backup loans owes the member a loan
        fast_track and level_loan_eligible as loan_eligible
    from targeted
)

select
    job_id,
    member_id,
    member_known,
    product_sku,
    centre_id,
    centre_name,
    centre_country,
    centre_type,
    service_type,
    serial_number,
    is_video,
    received_at,
    received_date,
    completed_at,
    completed_date,
    level,
    fast_track,
    target_days::integer as target_days,
    turnaround_days::integer as turnaround_days,
    working_days_elapsed::integer as working_days_elapsed,
    status,
    loan_eligible,
    loan_eligible and status in ('breached', 'open_breached') as loan_owed,
    {{ as_of_date() }} as as_of_date
from with_status
