"""上线迁移 pages under /golive/ (namespace `golive`)."""

from django.urls import path

from doudi.web import golive_caseload_views as caseload
from doudi.web import golive_staff_views, golive_views

app_name = "golive"

urlpatterns = [
    path("", golive_views.checklist_page, name="checklist"),
    path("caseload/", caseload.caseload_page, name="caseload"),
    path("caseload/<int:import_id>/", caseload.caseload_import, name="caseload_import"),
    path("caseload/<int:import_id>/report.xlsx", caseload.caseload_report,
         name="caseload_report"),
    path("caseload/<int:import_id>/real", caseload.caseload_real, name="caseload_real"),
    path("reconcile/", caseload.reconcile_page, name="reconcile"),
    path("staff/", golive_staff_views.golive_staff, name="staff"),
]
