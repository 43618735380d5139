"""Regenerate notebooks/executive_summary.ipynb (clean, no outputs). Analysts may edit the notebook directly."""
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def md(text, *tags):
    return new_markdown_cell(text, metadata={"tags": list(tags)} if tags else {})


def code(text, *tags):
    return new_code_cell(text, metadata={"tags": list(tags)} if tags else {})


cells = [
    md("# Customer Success Report\n\nThe monthly executive report. Run it top to bottom in Jupyter, or with "
       "`csreport run`, which executes it with papermill and renders HTML and PDF.\n\n"
       "**Layout tags:** `report-exclude` keeps a cell out of the report, `report-page-break` starts a new page, "
       "`report-appendix` moves a cell to the appendix. Add a section by adding cells.", "report-exclude"),
    code('# Parameters: papermill injects the real values below this cell. No secrets here: they would be saved.\n'
         '# period: the month to report as YYYY-MM, or None for the last complete month\n'
         'period = None\n'
         'data = "../data/demo"\n'
         'config = None\n'
         'targets = None\n'
         'output_dir = "../reports/notebook"\n'
         'history = "../reports/history.sqlite"  # read only here; `csreport run` records into it\n'
         'on_invalid = "stop"', "parameters", "report-exclude"),
    code("from csreport.report import charts, narrative\n"
         "from csreport.report import components as ui\n"
         "from csreport.report.context import build_report\n\n"
         "report = build_report(data, period, config, output_dir, on_invalid, targets, history)\n"
         "v, t, target = report.values, report.trends, report.target", "report-exclude"),
    md("## Executive summary"),
    code("ui.show(ui.kpi_tiles(report))"),
    code("ui.show(narrative.summary(report))"),
    code("ui.show(charts.mrr_bridge(v, report.period.start_date.strftime('%b'), "
         "report.period.previous.start_date.strftime('%b')))"),
    md("## Revenue and retention", "report-page-break"),
    code("ui.show(narrative.section(report, ['mrr_end', 'nrr_pct', 'grr_pct', 'logo_churn_rate_pct', 'nrr_ttm_pct']))"),
    code("ui.show(ui.figure_row(\n"
         "    charts.trend({'Logo churn': t['logo_churn_rate_pct']}, 'Monthly logo churn',\n"
         "                 targets={'Logo churn': target('logo_churn_rate_pct')}),\n"
         "    charts.trend({'GRR': t['grr_pct'], 'NRR': t['nrr_pct']}, 'Revenue retention (monthly)',\n"
         "                 targets={'GRR': target('grr_pct'), 'NRR': target('nrr_pct')}),\n"
         "))"),
    code("ui.show(ui.metric_table(report, ['mrr_end', 'customers_end', 'customers_new', 'customers_reactivated',\n"
         "    'customers_churned', 'logo_churn_rate_pct', 'grr_pct', 'nrr_pct', 'grr_ttm_pct', 'nrr_ttm_pct', 'arpa',\n"
         "    'cltv'], 'Revenue'))"),
    md("## Customer voice", "report-page-break"),
    code("ui.show(narrative.section(report, ['nps', 'csat_pct', 'ces_avg']))"),
    code("ui.show(ui.metric_table(report, ['nps', 'nps_promoters_pct', 'nps_detractors_pct', 'csat_pct', 'ces_avg'],\n"
         "    'Survey', extras=ui.survey_extras(report)))"),
    code("ui.show(ui.figure_row(\n"
         "    charts.trend({'NPS': t['nps']}, 'NPS', unit='', targets={'NPS': target('nps')}),\n"
         "    charts.trend({'CSAT': t['csat_pct']}, 'CSAT', targets={'CSAT': target('csat_pct')}),\n"
         "))"),
    md("### In their words"),
    code("ui.show(ui.comments(report))"),
    md("## Support and engagement", "report-page-break"),
    code("ui.show(narrative.section(report, ['frt_median_hours', 'sla_met_pct', 'backlog_end', 'stickiness_pct',\n"
         "    'active_accounts_pct']))"),
    code("ui.show(ui.metric_table(report, ['tickets_created', 'frt_median_hours', 'resolution_median_hours',\n"
         "    'sla_met_pct', 'backlog_end'], 'Support'))"),
    code("ui.show(ui.metric_table(report, ['mau', 'dau_avg', 'stickiness_pct', 'active_accounts_pct',\n"
         "    'referrals', 'referral_rate_pct', 'referral_conversion_pct', 'onboarding_completion_pct',\n"
         "    'onboarding_median_days'], 'Engagement, referrals, onboarding'))"),
    code("if v['feature_adoption_pct']:\n"
         "    ui.show(charts.feature_adoption(v['feature_adoption_pct']))"),
    md("## Customer health", "report-page-break"),
    code("ui.show(narrative.section(report, ['health_avg', 'health_red_pct']))\n"
         "ui.show(charts.health_mix(report.current.health['band'].value_counts().to_dict()))"),
    code("ui.show(ui.metric_table(report, ['health_avg', 'health_green_pct', 'health_amber_pct', 'health_red_pct'],\n"
         "    'Health'))"),
    md("### Customers most at risk\n\nLowest health first; the weakest component says where to start."),
    code("ui.show(ui.at_risk(report))"),
    md("## By segment", "report-page-break"),
    code("ui.show(ui.segment_table(report, ['customers_end', 'mrr_end', 'logo_churn_rate_pct', 'grr_pct', 'nrr_pct',\n"
         "    'nps', 'csat_pct', 'sla_met_pct', 'stickiness_pct', 'health_avg', 'health_red_pct']))"),
    md("## Data quality\n\nRows read per table and rows set aside as invalid (with `--on-invalid=quarantine`).",
       "report-appendix"),
    code("ui.show(ui.data_quality(report))", "report-appendix"),
    code("ui.show(ui.provenance(report))", "report-appendix"),
]

nb = new_notebook(cells=cells, metadata={
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
})
nbformat.write(nb, "notebooks/executive_summary.ipynb")
