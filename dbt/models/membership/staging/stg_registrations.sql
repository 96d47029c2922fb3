-- Registrations as of D: the latest version of each registration among those stamped
-- (updated_at and registered_at) by the end of day D (macro registrations_as_of).
-- A view: its one reader, int_registration_checks, feeds int_registration_status, the table that
-- holds every registration with its source columns (and is what the quality gate validates).
-- As a table it would write ~8 million rows once more a night (~20 s at a million members).
{{ config(materialized='view') }}
{{ registrations_as_of() }}
