{#
  Change records -> one row per key as of D: versions stamped after the end of day D are ignored
  (so any past night can be rebuilt), then the latest updated_at wins; ties go to the file loaded
  later, then to the later row of that file.
  key_filter: a boolean SQL condition on the rows, applied before the window (an incremental night
  reads only the keys it recomputes; DuckDB does not push a filter on the key through the window).
#}
{% macro latest_version(relation, key, stamp_columns=['updated_at'], key_filter=none) -%}
    -- the window sorts only the key, the stamps and the row's place; the whole rows are then picked
    -- by their place (a file and a row number name one raw row): sorting every column of millions
    -- of rows under the night's memory limit went to disk
    select versions.*
    from {{ relation }} as versions
    semi join (
        select _file_id, _row_number
        from {{ relation }}
        where true
        {%- for stamp in stamp_columns %}
          and {{ stamp }} < {{ end_of_as_of_day() }}
        {%- endfor %}
        {%- if key_filter is not none %}
          and ({{ key_filter }})
        {%- endif %}
        qualify row_number() over (
            partition by {{ key }}
            order by updated_at desc, _file_id desc, _row_number desc
        ) = 1
    ) as latest
        on versions._file_id = latest._file_id and versions._row_number = latest._row_number
{%- endmacro %}

{# Reference data (catalogue, service centres) is a full snapshot per file: keep the newest file's rows. #}
{% macro latest_snapshot(relation) -%}
    select *
    from {{ relation }}
    where _file_id = (select max(_file_id) from {{ relation }})
{%- endmacro %}
