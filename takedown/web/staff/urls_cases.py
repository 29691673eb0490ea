from django.urls import path

from takedown.web.staff import cases as views
from takedown.web.staff import checks as matching_views
from takedown.web.staff import notices as notice_views

app_name = "staff_cases"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("export.csv", views.case_export, name="export"),
    path("bulk/", views.case_bulk, name="bulk"),
    path("new/", views.case_open_for_survivor, name="open"),
    path("metrics/", views.metrics, name="metrics"),
    path("review/", matching_views.review_queue, name="review"),
    path("<int:case_id>/", views.case_detail, name="detail"),
    path("<int:case_id>/notes/", views.case_note, name="note"),
    path("<int:case_id>/assign/", views.case_assign, name="assign"),
    path("<int:case_id>/status/", views.case_status, name="status"),
    path("<int:case_id>/details/", views.case_details, name="details"),
    path("<int:case_id>/vouch/", views.case_vouch, name="vouch"),
    path("<int:case_id>/new-pin/", views.case_access_recover_view, name="access_recover"),
    path("<int:case_id>/evidence.json", matching_views.case_evidence_export, name="evidence"),
    path("<int:case_id>/items/<int:item_id>/", matching_views.item_evidence, name="item"),
    path("<int:case_id>/items/<int:item_id>/check/", matching_views.item_check_now, name="item_check"),
    path("<int:case_id>/items/<int:item_id>/check.json", matching_views.item_check_status, name="item_check_status"),
    path("<int:case_id>/items/<int:item_id>/review/", matching_views.item_review, name="item_review"),
    path(
        "<int:case_id>/items/<int:item_id>/confirm-match/", matching_views.item_match_confirm, name="item_match_confirm"
    ),
    path("<int:case_id>/notices/", notice_views.notice_list, name="notices"),
    path("<int:case_id>/notices/new/", notice_views.notice_new, name="notice_new"),
    path("<int:case_id>/notices/<int:notice_id>/", notice_views.notice_detail, name="notice"),
    path("<int:case_id>/notices/<int:notice_id>/edit/", notice_views.notice_edit, name="notice_edit"),
    path("<int:case_id>/notices/<int:notice_id>/approve/", notice_views.notice_approve, name="notice_approve"),
    path("<int:case_id>/notices/<int:notice_id>/ask/", notice_views.notice_ask_survivor, name="notice_ask"),
    path("<int:case_id>/notices/<int:notice_id>/notice.pdf", notice_views.notice_pdf_download, name="notice_pdf"),
    path("<int:case_id>/notices/<int:notice_id>/send/", notice_views.notice_send, name="notice_send"),
    path("<int:case_id>/notices/<int:notice_id>/packet/", notice_views.notice_packet, name="notice_packet"),
    path("<int:case_id>/notices/<int:notice_id>/submitted/", notice_views.notice_submitted, name="notice_submitted"),
    path("<int:case_id>/escalations/<int:escalation_id>/", notice_views.escalation_decide, name="escalation_decide"),
    path("<int:case_id>/report.pdf", notice_views.case_report, name="report"),
    path("trusted-flagger-report.csv", notice_views.trusted_flagger_report, name="trusted_flagger_report"),
]
