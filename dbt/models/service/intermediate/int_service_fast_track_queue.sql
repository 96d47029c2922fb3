-- The limit on open Fast Track jobs: a member's candidate jobs, in order of arrival (received_at,
-- tie: smaller job_id), take Fast Track places while fewer than fast_track_max_open_jobs earlier
-- Fast Track jobs are still open at the job's received_at. Whether an earlier job took a place
-- depends on its own turn, so the queue is walked in order: a recursive query that carries, per
-- member, the completion times of the Fast Track jobs taken so far (open ones: far in the future).
{%- set max_open = policy_integer('fast_track_max_open_jobs') %}

with recursive candidates as (
    select
        member_id,
        job_id,
        received_at,
        coalesce(completed_at, timestamp '9999-12-31') as done_at,
        row_number() over (partition by member_id order by received_at, job_id) as turn
    from {{ ref('int_service_job_candidates') }}
    where is_fast_track_candidate
),

queue(member_id, turn, job_id, is_fast_track, fast_track_done_at) as (
    select member_id, turn, job_id, 0 < {{ max_open }}, case when 0 < {{ max_open }} then [done_at] else [] end
    from candidates
    where turn = 1

    union all

    select
        c.member_id,
        c.turn,
        c.job_id,
        len(list_filter(q.fast_track_done_at, lambda done: done > c.received_at)) < {{ max_open }},
        case
            when len(list_filter(q.fast_track_done_at, lambda done: done > c.received_at)) < {{ max_open }}
                then list_append(list_filter(q.fast_track_done_at, lambda done: done > c.received_at), c.done_at)
            else list_filter(q.fast_track_done_at, lambda done: done > c.received_at)
        end
    from queue as q
    inner join candidates as c on c.member_id = q.member_id and c.turn = q.turn + 1
)

select job_id, is_fast_track
from queue
