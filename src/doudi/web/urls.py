from django.contrib.auth import views as auth_views
from django.urls import path

from doudi.web import policy_views, rules_views, views
from doudi.web.forms import LoginForm

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(
        template_name="doudi/login.html", authentication_form=LoginForm,
        redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("households/", views.household_list, name="household_list"),
    path("households/new/", views.household_new, name="household_new"),
    path("households/new/member-row/", views.household_member_row, name="household_member_row"),
    path("households/export.xlsx", views.household_export, name="household_export"),
    path("households/<int:household_id>/", views.household_detail, name="household_detail"),
    path("households/<int:household_id>/observations/", views.household_observation_add,
         name="household_observation_add"),
    path("households/<int:household_id>/categories/", views.household_category_add,
         name="household_category_add"),
    path("households/<int:household_id>/categories/end/", views.household_category_end,
         name="household_category_end"),
    path("households/<int:household_id>/rules/", rules_views.household_rules,
         name="household_rules"),
    path("persons/<int:person_id>/reveal/", views.person_reveal, name="person_reveal"),
    path("policy/", policy_views.policy_list, name="policy_list"),
    path("policy/<str:key>/", policy_views.policy_detail, name="policy_detail"),
    path("policy/<str:key>/values/", policy_views.policy_value_add, name="policy_value_add"),
    path("policy/<str:key>/values/withdraw/", policy_views.policy_value_withdraw,
         name="policy_value_withdraw"),
    path("rules/simulate/", rules_views.simulate_view, name="rules_simulate"),
    path("audit/", views.audit_list, name="audit_list"),
    path("users/", views.user_list, name="user_list"),
]
