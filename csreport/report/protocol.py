"""The contract between a report notebook's kernel and `csreport run`: parameters in, model and errors out."""
from __future__ import annotations

# the report model, as the JSON of metrics.json (csreport.model.ReportModel)
MODEL_MIME = "application/vnd.csreport.model+json"
# the account model of an account review (csreport.model.account.AccountModel)
ACCOUNT_MIME = "application/vnd.csreport.account+json"
# a CsreportError raised in a cell: {"module", "class", "exit_code", "message"}
ERROR_MIME = "application/vnd.csreport.error+json"

# the parameters `csreport run` passes to every report notebook (README: "Report notebooks")
PARAMETERS = ("period", "data_source", "config_path", "targets_path", "history_path", "on_invalid", "rejects_dir")
# what `csreport batch` adds: the book of business (executive notebook), or the account (account_review), and the
# model it built already from one load of the data for every group
BOOK_PARAMETERS = ("book_by", "book", "model_path")
ACCOUNT_PARAMETERS = ("period", "data_source", "config_path", "account_id", "model_path")
