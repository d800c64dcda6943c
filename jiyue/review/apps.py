from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "jiyue.review"
    label = "review"
    verbose_name = "审核流程"
