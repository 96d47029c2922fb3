{#
  The one mapping of registration reason codes to words: a short label for reports
  ("Retailer missing") and the step the member is asked to take (rpt_action_required).
  Order matters: a member's steps are listed in this order.
#}
{% macro registration_reasons() -%}
    {{ return({
        'missing_serial_number': {'label': 'Serial number missing', 'step': 'Add the serial number'},
        'missing_purchase_date': {'label': 'Purchase date missing', 'step': 'Add the purchase date'},
        'missing_purchase_country': {
            'label': 'Country of purchase missing', 'step': 'Add the country where you bought it'},
        'missing_retailer': {'label': 'Retailer missing', 'step': 'Add the retailer you bought it from'},
        'purchase_in_future': {
            'label': 'Purchase date in the future', 'step': 'Correct the purchase date: it is in the future'},
        'purchase_before_launch': {
            'label': 'Purchase date before launch',
            'step': 'Correct the purchase date: it is before the product was launched'},
        'bad_country': {
            'label': 'Country of purchase not valid',
            'step': 'Correct the country of purchase: use its two-letter code, for example GB'},
        'bad_serial': {
            'label': 'Serial number not valid',
            'step': 'Correct the serial number: it should be ' ~ (policy_value('serial_min_length') | int) ~ ' to '
                ~ (policy_value('serial_max_length') | int) ~ ' letters or digits'},
        'duplicate_serial': {
            'label': 'Serial number already registered',
            'step': 'This serial number is already registered for this product; check the serial number, '
                ~ 'or contact CPS if the product is yours'},
    }) }}
{%- endmacro %}

{# SQL string literal, quotes doubled. #}
{% macro sql_text(value) -%}
    '{{ value | replace("'", "''") }}'
{%- endmacro %}

{# A reason code expression in plain words (the code itself when it is not in the mapping). #}
{% macro reason_label(code) -%}
    case {{ code }}
    {%- for reason, words in registration_reasons().items() %}
        when '{{ reason }}' then {{ sql_text(words.label) }}
    {%- endfor %}
        else {{ code }}
    end
{%- endmacro %}

{# The member's steps for a list of reason codes, in the mapping's order (nulls removed). #}
{% macro reason_steps(reason_list) -%}
    list_filter([
    {%- for reason, words in registration_reasons().items() if reason != 'duplicate_serial' %}
        case when list_contains({{ reason_list }}, '{{ reason }}') then {{ sql_text(words.step) }} end
        {%- if not loop.last %},{% endif %}
    {%- endfor %}
    ], lambda step: step is not null)
{%- endmacro %}

{# A registration status in plain words, for reports. #}
{% macro status_label(status) -%}
    case {{ status }}
        when 'counted' then 'Counted'
        when 'incomplete' then 'Incomplete'
        when 'invalid' then 'Invalid'
        when 'duplicate_serial' then 'Duplicate serial number'
        when 'unknown_product' then 'Unknown product'
        when 'removed' then 'Removed'
        else {{ status }}
    end
{%- endmacro %}
