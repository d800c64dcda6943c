"""Upload forms for Wagtail's document library, with jiyue's size and content checks."""

from wagtail.documents.forms import BaseDocumentForm

from .uploads import validate_upload


class DocumentForm(BaseDocumentForm):
    def clean_file(self):
        f = self.cleaned_data.get("file")
        if f is not None and hasattr(f, "content_type"):  # a new upload, not the stored file
            validate_upload(f)
        return f
