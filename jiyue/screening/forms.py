"""Forms of the 敏感词 admin: one word, and a file import."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .matcher import normalise
from .models import Category, Level, SensitiveWord
from .services import MAX_WORD

MAX_IMPORT_BYTES = 8 * 1024 * 1024


class SensitiveWordForm(forms.ModelForm):
    class Meta:
        model = SensitiveWord
        fields = ["word", "category", "level", "enabled", "note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["word"].error_messages["required"] = _("请填写词语。")
        self.fields["word"].validators = []
        self.fields["word"].max_length = 200
        self.fields["word"].widget.attrs["maxlength"] = 200
        self.fields["word"].help_text = _("匹配时忽略空格、标点和全角/半角、大小写的差别。")

    def clean_word(self):
        raw = self.cleaned_data.get("word", "")
        word = normalise(raw.replace("\x00", ""))
        if not word:
            raise ValidationError(_("词语不能为空，也不能只有标点符号。"))
        if len(word) > MAX_WORD:
            raise ValidationError(_("词语不能超过%(n)d个字。") % {"n": MAX_WORD})
        clash = SensitiveWord.objects.filter(word=word)
        if self.instance.pk:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise ValidationError(_("词表中已有“%(w)s”。") % {"w": word})
        return word

    def clean_note(self):
        return (self.cleaned_data.get("note") or "").replace("\x00", "").strip()


class ImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("词表文件"), help_text=gettext_lazy(
        "TXT 或 CSV，UTF-8 或 GB18030 编码，每行一个词：“词语”、“词语 分类”或“词语,分类,级别”；"
        "以 # 开头的行为注释。已有的词更新分类和级别。"),
        error_messages={"required": gettext_lazy("请选择要导入的文件。")})
    category = forms.ChoiceField(label=gettext_lazy("未写分类时的分类"), choices=Category.choices,
                                 initial=Category.OTHER)
    level = forms.ChoiceField(label=gettext_lazy("未写级别时的级别"), choices=Level.choices,
                              initial=Level.REVIEW)

    def clean_file(self):
        from jiyue.library.uploads import validate_upload

        from .services import decode

        f = self.cleaned_data["file"]
        validate_upload(f, extensions=["txt", "csv"], max_bytes=MAX_IMPORT_BYTES)
        f.seek(0)
        try:
            text = decode(f.read())
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if "\x00" in text:
            raise ValidationError(_("文件含有不可见的控制字符，不是文本文件。"))
        self.text = text
        return f
