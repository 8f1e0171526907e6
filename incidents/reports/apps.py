import logging
import sys

from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "incidents.reports"
    label = "reports"
    verbose_name = "case reports"

    def ready(self) -> None:
        # The report worker loads WeasyPrint and the fonts when it starts, not
        # during its first report (docs/performance.md, "Case reports").
        if sys.argv[1:2] == ["db_worker"]:
            from incidents.reports.render import warm_up

            try:
                warm_up()
            except Exception:  # the first report will say what is wrong, on its page
                logging.getLogger(__name__).exception("Could not load the report's fonts.")
