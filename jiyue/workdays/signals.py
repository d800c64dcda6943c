from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from . import calendar
from .models import CalendarYear, SpecialDay


@receiver([post_save, post_delete], sender=SpecialDay)
@receiver([post_save, post_delete], sender=CalendarYear)
def _changed(sender, **kwargs):
    calendar.invalidate()
