"""`jiyue restore ARCHIVE [--passphrase-file F] [--force]`: restore a backup into an empty home."""

import getpass
import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext
from jiyue.core.progress import progress_bar

from jiyue.backup import services
from jiyue.backup.archive import BackupError


class Command(BaseCommand):
    requires_system_checks = []  # the database is empty until it is restored

    @property
    def help(self):
        return gettext("把 jiyue backup 生成的备份恢复到空的 JIYUE_HOME（PostgreSQL 时恢复到空数据库）：先解密并校验全部内容，再写入。")

    def add_arguments(self, parser):
        parser.add_argument("archive", help=gettext("备份文件（.jyb）"))
        parser.add_argument("--passphrase-file", help=gettext("从这个文件读取备份密钥（默认读取环境变量 JIYUE_BACKUP_KEY）"))
        parser.add_argument("--force", action="store_true",
                            help=gettext("目标不是空的也恢复：现有文件移到 JIYUE_HOME/.before-restore-*"))
        parser.add_argument("--check", action="store_true",
                            help=gettext("只解密并校验备份（签名与全部校验值），不恢复任何数据"))
        parser.add_argument("--no-progress", action="store_true", help=gettext("不显示进度条"))

    def handle(self, *args, archive, passphrase_file=None, force=False, check=False, no_progress=False,
               **options):
        try:
            secret = services.passphrase(passphrase_file)
            if secret is None and sys.stdin.isatty():
                secret = getpass.getpass(gettext("备份密钥："))
            with progress_bar(self.stderr._out, gettext("恢复"), "B", enabled=not no_progress,
                              unit_scale=True) as progress:
                if check:
                    manifest = services.verify_backup(archive, secret, progress=progress)
                else:
                    result = services.restore_backup(archive, secret, force=force, progress=progress,
                                                     log=self.stdout.write)
        except BackupError as exc:
            if check:
                raise CommandError(gettext("备份校验失败：%(error)s") % {"error": exc}) from None
            raise CommandError(gettext("恢复失败：%(error)s") % {"error": exc}) from None
        if check:
            self.stdout.write(self.style.SUCCESS(
                gettext("备份完好：平台 %(platform)s 于 %(created)s 的备份，%(files)d 个文件的 SM3 校验值与签名均正确。")
                % {"platform": manifest.get("platform"), "created": manifest.get("created"),
                   "files": len(manifest["files"])}))
            self.stdout.write(gettext("清单签名公钥指纹（SM3）：%(fp)s") % {"fp": manifest["signing_key"]["fingerprint"]})
            return
        m = result.manifest
        self.stdout.write(self.style.SUCCESS(
            gettext("恢复完成：平台 %(platform)s 于 %(created)s 的备份，%(files)d 个文件，%(rows)d 行数据。")
            % {"platform": m.get("platform"), "created": m.get("created"), "files": result.files,
               "rows": sum(m["database"]["tables"].values())}))
        self.stdout.write(gettext("清单签名公钥指纹（SM3）：%(fp)s —— 请与备份时记录的指纹核对。")
                          % {"fp": m["signing_key"]["fingerprint"]})
        if result.migrated:
            self.stdout.write(gettext("数据库结构已迁移到当前版本。"))
        if result.moved_aside:
            self.stdout.write(gettext("原有数据已移到：%(path)s") % {"path": result.moved_aside})

