"""`jiyue backup [--output DIR] [--passphrase-file F] [--keep N]`: an encrypted, signed backup of
the database, uploaded files, published pages and keys."""

import getpass
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext
from jiyue.core.progress import progress_bar

from jiyue.backup import services
from jiyue.backup.archive import BackupError


class Command(BaseCommand):
    @property
    def help(self):
        return gettext("备份数据库、上传文件、已发布页面和密钥，用操作员提供的密钥以 SM4 加密，清单以平台 SM2 密钥签名。")

    def add_arguments(self, parser):
        parser.add_argument("--output", help=gettext("备份目录（默认 JIYUE_BACKUP_DIR，未设置时为 $JIYUE_HOME/backups）"))
        parser.add_argument("--passphrase-file", help=gettext("从这个文件读取备份密钥（默认读取环境变量 JIYUE_BACKUP_KEY）"))
        parser.add_argument("--keep", type=int, help=gettext("完成后只保留目录中最新的 N 份备份"))
        parser.add_argument("--no-progress", action="store_true", help=gettext("不显示进度条"))

    def handle(self, *args, output=None, passphrase_file=None, keep=None, no_progress=False, **options):
        if keep is not None and keep < 1:
            raise CommandError(gettext("--keep 必须是正整数。"))
        folder = Path(output or getattr(settings, "JIYUE_BACKUP_DIR", None) or Path(settings.JIYUE_HOME) / "backups")
        try:
            secret = services.passphrase(passphrase_file)
            if secret is None and sys.stdin.isatty():
                secret = getpass.getpass(gettext("备份密钥："))
                if secret and getpass.getpass(gettext("再次输入备份密钥：")) != secret:
                    raise CommandError(gettext("两次输入的备份密钥不一致。"))
            with progress_bar(self.stderr._out, gettext("备份"), "B", enabled=not no_progress,
                              unit_scale=True) as progress:
                result = services.create_backup(folder, secret, progress=progress, log=self.stdout.write)
            removed = services.prune(folder, keep) if keep else []
        except BackupError as exc:
            raise CommandError(str(exc)) from None
        m = result.manifest
        self.stdout.write(self.style.SUCCESS(
            gettext("备份完成：%(path)s（%(size).1f MB，%(files)d 个文件，%(tables)d 张表 %(rows)d 行）")
            % {"path": result.path, "size": result.size / 1e6, "files": result.files,
               "tables": len(m["database"]["tables"]), "rows": sum(m["database"]["tables"].values())}))
        self.stdout.write(gettext("清单签名公钥指纹（SM3）：%(fp)s") % {"fp": m["signing_key"]["fingerprint"]})
        for p in removed:
            self.stdout.write(gettext("已删除较早的备份：%(name)s") % {"name": p.name})
