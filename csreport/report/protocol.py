"""The contract between a report notebook's kernel and `csreport run`: parameters in, model and errors out."""
from __future__ import annotations

# the report model, as the JSON of metrics.json (csreport.model.ReportModel)
MODEL_MIME = "application/vnd.csreport.model+json"
# a CsreportError raised in a cell: {"module", "class", "exit_code", "message"}
ERROR_MIME = "application/vnd.csreport.error+json"

# the parameters `csreport run` passes to every report notebook (README: "Report notebooks")
PARAMETERS = ("period", "data_source", "config_path", "targets_path", "history_path", "on_invalid", "rejects_dir")
