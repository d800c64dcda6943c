"""`jiyue keys status` and `jiyue keys rotate [--retire-old]`: the key ring of the encrypted
personal data (SM4 data keys, the blind-index key, the platform's SM2 key pair)."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext
from jiyue.core.progress import progress_bar

from jiyue import audit
from jiyue.security import crypto, fields, keyring


class Command(BaseCommand):
    @property
    def help(self):
        return gettext("密钥管理：status 查看密钥环与各字段的加密情况；rotate 生成新数据密钥并重新加密全部加密字段。")

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", metavar="{status,rotate}")
        sub.required = True
        sub.add_parser("status", help=gettext("当前密钥、在用密钥与各字段的数量"))
        rotate = sub.add_parser("rotate", help=gettext("生成新数据密钥，重新加密全部加密字段（中断后可再次运行以继续）"))
        rotate.add_argument("--retire-old", action="store_true",
                            help=gettext("完成后停用不再使用的旧数据密钥（从密钥环中删除）"))
        rotate.add_argument("--no-progress", action="store_true", help=gettext("不显示进度条"))
        rotate.add_argument("--batch", type=int, default=500, help=gettext("每个事务重新加密的记录数"))

    def handle(self, *args, action=None, **options):
        if action == "status":
            return self.status()
        return self.rotate(retire_old=options["retire_old"], no_progress=options["no_progress"],
                           batch=options["batch"])

    def status(self):
        ring = keyring.get()
        usage = fields.key_usage()
        in_use = sorted({k for counts in usage.values() for k in counts if k != "plain"})
        w = self.stdout.write
        w(gettext("密钥环：%(path)s") % {"path": keyring.path()})
        w(gettext("当前数据密钥：%(key)s") % {"key": ring.active})
        w(gettext("密钥环中的数据密钥：%(keys)s") % {"keys": ", ".join(sorted(ring.data_keys)) or "-"})
        w(gettext("已停用的数据密钥：%(keys)s") % {"keys": ", ".join(ring.retired) or "-"})
        w(gettext("在用的数据密钥：%(keys)s") % {"keys": ", ".join(in_use) or "-"})
        if ring.rotating:
            w(self.style.WARNING(gettext("轮换到 %(key)s 尚未完成：请再次运行 jiyue keys rotate。")
                                 % {"key": ring.rotating}))
        missing = [k for k in in_use if k not in ring.data_keys]
        if missing:
            w(self.style.ERROR(gettext("有数据使用了密钥环中没有的密钥：%(keys)s（这些数据无法解密）")
                               % {"keys": ", ".join(missing)}))
        w(gettext("平台 SM2 公钥指纹（SM3）：%(fp)s") % {"fp": crypto.sm3_hex(bytes.fromhex(ring.sm2_public))[:32]})
        w(gettext("加密字段（按数据密钥计数）："))
        for label, counts in usage.items():
            shown = ", ".join(f"{gettext('未加密') if k == 'plain' else k}: {n}" for k, n in counts.items())
            w(f"  {label}  {shown or '0'}")

    def rotate(self, *, retire_old, no_progress, batch):
        if batch < 1:
            raise CommandError(gettext("--batch 必须是正整数。"))
        before = keyring.get()
        resumed = bool(before.rotating and before.rotating == before.active)
        old_keys = sorted(set(before.data_keys) - {before.active}) if resumed else sorted(before.data_keys)
        new_id = keyring.rotate(resumable=True)
        if resumed:
            self.stdout.write(gettext("继续上次未完成的密钥轮换：新数据密钥 %(key)s。") % {"key": new_id})
        else:
            self.stdout.write(gettext("已生成新数据密钥 %(key)s，开始重新加密。") % {"key": new_id})
        try:
            with progress_bar(self.stderr._out, gettext("重新加密"), gettext("条"),
                              enabled=not no_progress) as progress:
                counts = fields.reencrypt(progress=progress, batch=batch)
        except Exception as exc:
            audit.record(None, None, None, "keys.rotate", obj=new_id, outcome="failure",
                         error=str(exc)[:500], resumed=resumed)
            raise CommandError(gettext("重新加密中断：%(error)s。已完成的部分已保存，"
                                       "再次运行 jiyue keys rotate 即可继续。") % {"error": exc}) from exc
        in_use = fields.keys_in_use()
        if in_use - {new_id}:
            # A value written under an old key while re-encrypting (by a process that had not
            # yet seen the new key): one more pass takes it over.
            more = fields.reencrypt(batch=batch)
            counts = {k: counts.get(k, 0) + more.get(k, 0) for k in {*counts, *more}}
            in_use = fields.keys_in_use()
        keyring.finish_rotation()
        retired = []
        if retire_old:
            retired = sorted(k for k in keyring.get().data_keys if k != new_id and k not in in_use)
            keyring.retire(retired)
        total = sum(counts.values())
        audit.record(None, None, None, "keys.rotate", obj=new_id, resumed=resumed,
                     previous_keys=old_keys, reencrypted=counts, retired=retired)
        self.stdout.write(gettext("密钥轮换完成：当前数据密钥 %(key)s，重新加密 %(count)d 条。")
                          % {"key": new_id, "count": total})
        if retired:
            self.stdout.write(gettext("已停用旧数据密钥：%(keys)s") % {"keys": ", ".join(retired)})
        elif not retire_old:
            old = sorted(set(keyring.get().data_keys) - {new_id})
            if old:
                self.stdout.write(gettext("旧数据密钥 %(keys)s 仍保留在密钥环中（轮换时加 --retire-old "
                                          "可停用不再使用的旧密钥）。") % {"keys": ", ".join(old)})
