"""Upload forms for Wagtail's document and image libraries, with jiyue's size and content
checks (jiyue.library.uploads)."""

from django import forms
from django.core.exceptions import ValidationError
from wagtail.documents.forms import BaseDocumentForm
from wagtail.images.forms import BaseImageForm

from .uploads import validate_upload


def _checked(form, kind: str):
    f = form.cleaned_data.get("file")
    if f is not None and hasattr(f, "content_type"):  # a new upload, not the stored file
        try:
            validate_upload(f, kind=kind)
        except ValidationError as e:
            raise forms.ValidationError(e.messages, code=getattr(e, "code", None))
    return f


class DocumentForm(BaseDocumentForm):
    def clean_file(self):
        return _checked(self, "document")


class ImageForm(BaseImageForm):
    def clean_file(self):
        return _checked(self, "image")
