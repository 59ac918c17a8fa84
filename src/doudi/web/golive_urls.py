"""上线迁移 pages under /golive/ (namespace `golive`)."""

from django.urls import path

from doudi.web import golive_views

app_name = "golive"

urlpatterns = [
    path("", golive_views.checklist_page, name="checklist"),
]
