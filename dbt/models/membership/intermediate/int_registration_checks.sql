-- The checks of the registration status before the serial holder (doc registration_status), each as
-- its own flag, and the status they decide (null when none applies: the registration may hold its
-- serial, see int_registration_status). The checks live in the registration_checks_at macro,
-- shared with the points forecast. A view: its only reader is int_registration_status, so millions
-- of rows are not written twice.
{{ config(materialized='view') }}

with registrations as (
    select
        *,
        {{ as_of_date() }} as as_of_date
    from {{ ref('stg_registrations') }}
),

products as (
    select product_sku, launch_date from {{ ref('int_product_points') }}
),

checked as (
    {{ registration_checks_at('registrations', 'products', 'as_of_date') }}
)

-- every registration column, each check's flag, checks_status and checks_reasons, and the date
select * from checked
