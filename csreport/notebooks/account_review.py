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
# # Account review
#
# One customer on one or two pages, for a quarterly business review: health now and over 12 months
# with its components, MRR, usage, support, what the customer said, overdue invoices, and what to
# discuss. Every number comes from the account model (`account`), built by the first code cell.
# `csreport batch --by account` runs this notebook once per customer with papermill; in Jupyter, set
# `account_id` (and your data) below and run all cells.

# %% tags=["parameters", "report-exclude"]
# Parameters: `csreport batch` injects the real values below this cell. No secrets here.
period = None  # the month (YYYY-MM), or None for the last complete month
data_source = "../../data/demo"  # folder of CSV/Parquet files, DuckDB file, or database URL
config_path = None  # YAML config (column mapping, time zone, SLA, health weights)
account_id = "ACC-00001"  # the customer to review
model_path = None  # set by `csreport batch`: the account model it built from one load for every account

# %% tags=["report-exclude"]
from csreport.report import account as review
from csreport.report import components
from csreport.report.kernel import start_account

account = start_account(period, data_source, account_id, config_path, model_path)

# %%
review.profile(account)

# %%
review.status_line(account)

# %%
review.tiles(account)

# %% [markdown]
# ## What to discuss

# %%
review.discuss(account)

# %% [markdown]
# ## Health and revenue

# %%
components.figure_row(review.health_chart(account), review.mrr_chart(account))

# %%
review.health_table(account)

# %% [markdown] tags=["report-page-break"]
# ## Usage and support

# %%
components.figure_row(*review.usage_charts(account))

# %%
review.activity(account)

# %%
review.open_tickets(account)

# %% [markdown]
# ## Invoices

# %%
review.invoices(account)

# %% [markdown]
# ## What they said

# %%
review.voice(account)
