from django.urls import path

from takedown.web.survivor import approval
from takedown.web.survivor import views as views

app_name = "cases"
urlpatterns = [
    path("start/", views.start, name="start"),
    path("start/under-18/", views.under_18, name="under_18"),
    path("start/safety/", views.danger, name="danger"),
    path("start/report/", views.report, name="report"),
    path("case/", views.home, name="home"),
    path("case/sign-in/", views.sign_in, name="sign_in"),
    path("case/sign-out/", views.sign_out, name="sign_out"),
    path("case/exit/", views.quick_exit, name="quick_exit"),
    path("case/links/", views.add_urls, name="add_urls"),
    path("case/hashes/", views.add_hashes, name="add_hashes"),
    path("case/contact/", views.change_contact, name="contact"),
    path("case/sharing/", views.sharing, name="sharing"),
    path("case/faces/", views.faces, name="faces"),
    path("case/links/<int:item_id>/review/", views.review_item, name="review_item"),
    path("case/withdraw/", views.withdraw, name="withdraw"),
    path("case/requests/<int:notice_id>/approve/", views.approve_notice, name="approve_notice"),
    path("case/requests/<int:notice_id>/contact/", views.notice_contact, name="notice_contact"),
    path("case/requests/<int:notice_id>/decline/", approval.decline_notice, name="decline_notice"),
]
