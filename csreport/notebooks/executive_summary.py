# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown] tags=["report-exclude"]
# # Customer Success Report
#
# The monthly executive report. Run it top to bottom in Jupyter, or with `csreport run`, which
# executes it with papermill and renders HTML and PDF. The numbers come from one report model
# (`report`), built by the first code cell; every cell below only shows them, and what a cell
# shows here is what the report shows.
#
# **Add your own:** a markdown cell with a `##` heading starts a section; a matplotlib figure
# (`plt.show()`, or the figure as the cell's last expression) and `components.table(df)` appear in
# the report in the house style. Company metrics come from the config's `metrics_module`.
# README, "Analyst guide", walks through each step.
#
# **Layout tags:** `report-exclude` keeps a cell out of the report, `report-page-break` starts a
# new page, `report-appendix` moves a cell to the appendix, `report-needs-surveys` (or another
# metric domain) leaves a cell out when that domain has no data. Add a section by adding cells.

# %% tags=["parameters", "report-exclude"]
# Parameters: `csreport run` injects the real values below this cell (README: "Report notebooks").
# No secrets here: papermill saves parameters in the executed notebook.
period = None  # the month to report (YYYY-MM), or None for the last complete month
data_source = "../../data/demo"  # folder of CSV/Parquet files, DuckDB file, or database URL
config_path = None  # YAML config (column mapping, time zone, SLA, report header)
targets_path = None  # targets YAML, or None for the config's (else the shipped defaults)
history_path = "../../reports/history.sqlite"  # read here only; `csreport run` records into it
on_invalid = "stop"  # or "quarantine": set invalid rows aside and go on
rejects_dir = None  # where quarantined rows go
book_by = None  # "csm" or "segment": one book of business (its accounts only), with company figures beside
book = None  # the CSM or segment of that book
model_path = None  # set by `csreport run` and `csreport batch`: the model they built (None: built here)

# %% tags=["report-exclude"]
from csreport.report import book_view, charts, components, kernel, narrative
from csreport.report.formatting import month_label

report = kernel.start(period, data_source, config_path, targets_path, history_path, on_invalid, rejects_dir,
                      book_by=book_by, book=book, model_path=model_path)

# %% [markdown]
# ## Executive summary

# %%
components.kpi_tiles(report)

# %%
narrative.summary(report)

# %%
narrative.gaps(report)

# %%
charts.mrr_bridge(report.metrics, month_label(report.period), month_label(report.previous_period))

# %%
book_view.beside_company(report)  # a book of business: its headline numbers next to the company's

# %% [markdown] tags=["report-page-break"]
# ## Revenue and retention

# %%
narrative.section(report, ["nrr_pct", "grr_pct", "quick_ratio"])

# %%
components.figure_row(
    charts.trend({"Logo churn": report.trend("logo_churn_rate_pct")}, "Monthly logo churn",
                 targets={"Logo churn": report.target_value("logo_churn_rate_pct")}, ylabel="% of customers"),
    charts.trend({"GRR": report.trend("grr_pct"), "NRR": report.trend("nrr_pct")}, "Revenue retention (monthly)",
                 targets={"GRR": report.target_value("grr_pct"), "NRR": report.target_value("nrr_pct")},
                 ylabel="% of last month's MRR"),
)

# %%
components.metric_table(report, ["mrr_end", "customers_end", "customers_new", "customers_reactivated",
                                 "customers_churned", "logo_churn_rate_pct", "grr_pct", "nrr_pct", "grr_ttm_pct",
                                 "nrr_ttm_pct", "quick_ratio", "arpa", "cltv"], "Revenue")

# %%
components.cohort_retention(report)

# %% [markdown] tags=["report-needs-surveys"]
# ## Customer voice

# %%
narrative.section(report, ["csat_pct", "ces_avg"])

# %%
components.metric_table(report, ["nps", "nps_promoters_pct", "nps_detractors_pct", "csat_pct", "ces_avg"], "Survey",
                        extras=components.survey_extras(report))

# %% tags=["report-needs-surveys"]
components.figure_row(
    charts.trend({"NPS": report.trend("nps")}, "NPS", targets={"NPS": report.target_value("nps")},
                 margins={"NPS": report.trend_margin("nps")}, ylabel="NPS (−100 to +100)", key="nps"),
    charts.trend({"CSAT": report.trend("csat_pct")}, "CSAT", targets={"CSAT": report.target_value("csat_pct")},
                 margins={"CSAT": report.trend_margin("csat_pct")}, ylabel="% satisfied (4–5 of 5)"),
)

# %% [markdown] tags=["report-needs-surveys"]
# ### In their words

# %%
components.comments(report)

# %% [markdown] tags=["report-needs-support"]
# ## Support

# %%
narrative.section(report, ["frt_median_hours", "sla_met_pct", "backlog_end", "support_csat_pct"])

# %%
components.metric_table(report, ["tickets_created", "frt_median_hours", "resolution_median_hours", "sla_met_pct",
                                 "backlog_end", "support_csat_pct"], "Support",
                        extras=components.response_counts(report, {"support_csat_pct": "support_csat_responses"}))

# %% [markdown] tags=["report-needs-engagement", "report-needs-referrals", "report-needs-onboarding"]
# ## Engagement, referrals and onboarding

# %%
narrative.section(report, ["stickiness_pct", "active_accounts_pct", "time_in_product_hours_per_user"])

# %%
components.metric_table(report, ["mau", "dau_avg", "stickiness_pct", "active_accounts_pct", "sessions",
                                 "session_users", "sessions_per_user_avg", "session_minutes_median",
                                 "session_minutes_avg", "time_in_product_hours_per_user"], "Engagement")

# %%
components.metric_table(report, ["referrals", "referral_rate_pct", "referral_conversion_pct",
                                 "onboarding_completion_pct", "onboarding_median_days"], "Referrals, onboarding")

# %%
adoption = report.value("feature_adoption_pct")
charts.feature_adoption(adoption) if adoption else None

# %% [markdown] tags=["report-needs-health"]
# ## Customer health

# %%
components.health_note(report)

# %%
narrative.section(report, ["health_avg", "health_red_pct"])

# %% tags=["report-needs-health"]
charts.health_mix({band: share.customers for band, share in report.health_bands.items()})

# %%
components.metric_table(report, ["health_avg", "health_green_pct", "health_amber_pct", "health_red_pct"], "Health")

# %%
components.health_backtest(report)

# %% [markdown] tags=["report-needs-health"]
# ### Customers most at risk

# %%
components.at_risk(report)

# %% [markdown]
# ## By segment

# %%
components.segment_table(report, ["customers_end", "mrr_end", "logo_churn_rate_pct", "grr_pct", "nrr_pct", "nps",
                                  "csat_pct", "sla_met_pct", "stickiness_pct", "health_avg", "health_red_pct"])

# %%
components.company_metrics(report)  # the config's metrics_module; shows nothing when it declares none

# %% [markdown] tags=["report-appendix"]
# ### Data quality
#
# Rows read per table, and invalid rows set aside (when the run was told to quarantine them).

# %% tags=["report-appendix"]
components.data_quality(report)

# %% [markdown] tags=["report-appendix"]
# ### Restated months

# %% tags=["report-appendix"]
components.restatements(report)

# %% [markdown] tags=["report-appendix"]
# ### Definitions
#
# Every metric in this report: how it is computed, its unit and direction, the target it is
# judged against, and the settings used. Generated from the code that computes the numbers.

# %% tags=["report-appendix"]
components.definitions(report)

# %% tags=["report-appendix"]
components.provenance(report)
