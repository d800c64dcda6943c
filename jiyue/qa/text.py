"""Text helpers for Q&A ranking: normalisation, segmentation, stop words, sentence splitting.

No Django imports: used by `jiyue.qa.ranker`, `jiyue.qa.embed`, bench/bench_qa.py and tests.
"""

from __future__ import annotations

import html
import re
import threading
import unicodedata
from pathlib import Path

# Questions longer than this are cut before anything else (a 10,000-character "question" is
# someone pasting a document; its beginning says what they want).
MAX_QUESTION = 300

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202f\u2060\ufeff\ud800-\udfff]")
_TAGS = re.compile(r"<[^>]{0,200}>")
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])")
_WORD = re.compile(r"[\w\u4e00-\u9fff]", re.UNICODE)
_CJK_RUNS = re.compile(r"[\u4e00-\u9fff]{2,}")

# Function words and question scaffolding: they say *that* something is asked, not *what*.
STOP_WORDS = frozenset("""
的 了 吗 呢 吧 啊 呀 么 嘛 哦 是 在 和 与 及 或 也 都 就 还 又 而 并 把 被 让 给 对 从 向 到 于 以 为 之 其 该 此
这 那 这个 那个 这些 那些 这样 那样 这里 那里 什么 怎么 怎样 怎么样 如何 为什么 为何 哪些 哪个 哪里 哪儿 多少 几 吗 是否
能否 可否 可以 能 会 要 需要 应该 应当 请问 请 您 你 我 我们 你们 他 她 它 他们 咱们 自己 有 没有 有没有 一个 一下 一些
问 问题 咨询 想 想要 知道 了解 告诉 一 个 等 等等 及其 以及 如果 但是 因为 所以 可是 然后 时候 现在 目前 已经 之前 之后
关于 有关 相关 进行 办理 具体 情况 主要 方面 情形 时 后 前 中 内 上 下 里 不 没 无 很 最 更 太 非常
""".split())

_lock = threading.Lock()
_jieba = None
DICT_PATHS = [Path(__file__).resolve().parent.parent / "search" / "data" / "gov_dict.txt"]


def clean(text: str | None, limit: int | None = None) -> str:
    """NFKC, HTML entities and tags removed, control characters dropped, whitespace collapsed."""
    if not text:
        return ""
    text = str(text)
    if limit is not None and len(text) > limit * 4:
        text = text[: limit * 4]
    text = unicodedata.normalize("NFKC", text)
    if "&" in text:
        text = html.unescape(text)
    if "<" in text:
        text = _TAGS.sub(" ", text)
    text = _CONTROL.sub(" ", text)
    text = _SPACE.sub(" ", text).strip()
    if limit is not None:
        text = text[:limit]
    return text


def segmenter():
    """The process-wide rjieba instance, with the government dictionary when present."""
    global _jieba
    if _jieba is None:
        with _lock:
            if _jieba is None:
                import rjieba

                j = rjieba.Jieba()
                for path in DICT_PATHS:
                    _load_dict(j, path)
                _jieba = j
    return _jieba


def _load_dict(j, path: Path) -> None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    for line in lines:
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        freq = None
        if len(parts) > 1 and parts[1].isdigit():
            freq = int(parts[1])
        try:
            j.add_word(parts[0], freq, None)
        except TypeError:
            j.add_word(parts[0])


def words(text: str) -> list[str]:
    """Search-mode segmentation (whole words and their dictionary sub-words), lower-cased,
    without stop words and punctuation."""
    if not text:
        return []
    out = []
    for w in segmenter().cut_for_search(text.lower(), True):
        w = w.strip()
        if not w or w in STOP_WORDS or not _WORD.search(w):
            continue
        out.append(w)
    return out


def bigrams(text: str) -> list[str]:
    """Overlapping CJK character bigrams (robust to segmentation differences)."""
    out = []
    for run in _CJK_RUNS.findall(text):
        out.extend([run[i:i + 2] for i in range(len(run) - 1)])
    return out


def bigram_code(bigram: str) -> int:
    """An integer for a CJK bigram (as corpus_bigrams computes it)."""
    return (ord(bigram[0]) << 21) | ord(bigram[1])


def corpus_bigrams(texts: list[str]):
    """(doc index, bigram code) numpy arrays for every CJK bigram of every text, in one pass."""
    import numpy as np

    if not texts:
        return np.zeros(0, np.int32), np.zeros(0, np.int64)
    joined = "\n".join(texts)
    a = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    lens = np.fromiter((len(x) + 1 for x in texts), dtype=np.int64, count=len(texts))
    doc = np.repeat(np.arange(len(texts), dtype=np.int32), lens)[: len(a)]
    cjk = (a >= 0x4E00) & (a <= 0x9FFF)
    ok = cjk[:-1] & cjk[1:]
    return doc[:-1][ok], (a[:-1][ok] << 21) | a[1:][ok]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def lead(text: str, size: int = 120) -> str:
    """The beginning of a text, cut at a sentence end when one is near."""
    if len(text) <= size:
        return text
    cut = text[:size]
    for i in range(len(cut) - 1, size // 2, -1):
        if cut[i] in "。！？!?；;":
            return cut[: i + 1]
    return cut


def chunks(text: str, size: int = 120, limit: int = 3) -> list[str]:
    """Up to `limit` pieces of about `size` characters, cut at sentence ends."""
    out, cur = [], ""
    for s in sentences(text):
        if cur and len(cur) + len(s) > size:
            out.append(cur)
            if len(out) >= limit:
                return out
            cur = ""
        cur += s
        while len(cur) > size * 1.5:
            out.append(cur[:size])
            if len(out) >= limit:
                return out
            cur = cur[size:]
    if cur and len(out) < limit:
        out.append(cur)
    return out


# -- question types ------------------------------------------------------------------------
# What kind of answer a question asks for, and the evidence of that kind in an answer's text.
# A generic rule (not fitted to any question set): "电话是多少" wants digits, "需要什么材料"
# wants 材料/证明/复印件 … The ranker uses the share of the question's types that the answer shows.
QUESTION_TYPES = [
    ("phone", r"电话|热线|联系方式|号码", r"\d{5,}|电话|热线"),
    ("cost", r"多少钱|费用|收费|价格|多少元|标准是多少", r"\d+(?:\.\d+)?元|收费|费用|免费"),
    ("place", r"哪里|地点|地址|在哪|何处|什么地方|哪儿", r"地址|位于|路|街|号楼|大厅|窗口|地点"),
    ("time", r"什么时候|何时|时间|期限|多久|多长时间|几天|日期",
     r"\d+个?(?:日|天|月|年|工作日|小时)|期间|之前|以内|时间"),
    ("papers", r"材料|证件|证明|带什么|提交什么|需要哪些", r"材料|证明|复印件|原件|身份证|申请表"),
    ("conditions", r"条件|资格|要求|符合|哪些人|谁可以", r"条件|应当|符合|满足|具备|年满"),
    ("procedure", r"流程|步骤|怎么办理|如何办理|程序|怎么操作|如何申请|怎么申请|怎样申请",
     r"第一步|步骤|登录|点击|流程|程序|申请|提交|办理"),
    ("online", r"网站|网址|网上|线上|app|公众号|平台", r"http|www|网站|网上|平台|公众号|app|登录"),
    ("definition", r"什么是|是什么|定义|含义|概念|指什么|什么叫|何谓", r"是指|指的是|是一种|即|称为|是由"),
    ("reason", r"为什么|原因|为何", r"因为|由于|原因|为了|是因为"),
    ("yesno", r"能否|可以吗|能不能|可不可以|是否可以|是否能|吗", r"可以|不可以|不能|能够|允许|不得|应当"),
]
_QTYPE = [re.compile(q) for _n, q, _a in QUESTION_TYPES]
_ATYPE = [re.compile(a) for _n, _q, a in QUESTION_TYPES]
TYPE_SPAN = 600


def question_types(question: str) -> int:
    """Bit mask of the answer kinds a question asks for."""
    q = question.lower()
    return sum(1 << i for i, rx in enumerate(_QTYPE) if rx.search(q))


def answer_types(answer: str) -> int:
    """Bit mask of the answer kinds an answer's beginning shows."""
    a = answer[:TYPE_SPAN].lower()
    return sum(1 << i for i, rx in enumerate(_ATYPE) if rx.search(a))


# -- synonyms ------------------------------------------------------------------------------
# Citizens' words and the administration's words for the same thing. A query word in a group
# also matches the group's other words (lexical signal only). The platform operator's synonym
# list (search.SynonymGroup) is added by the caller (Ranker(items, synonyms=...)).
BUILTIN_SYNONYMS = [
    "社保,社会保险", "医保,医疗保险,基本医疗保险", "公积金,住房公积金", "养老金,养老保险金,基本养老金",
    "失业金,失业保险金", "驾照,驾驶证", "身份证,居民身份证", "户口,户籍", "落户,户口迁入,入户",
    "房产证,不动产权证书,房屋所有权证", "买房,购房", "租房,租赁住房,承租", "车牌,号牌",
    "看病,就医,就诊", "报销,结算", "外地,异地", "小孩,孩子,子女,儿童", "老人,老年人",
    "残疾人,残障人士", "工资,薪酬,劳动报酬", "辞职,离职", "公司,企业", "营业执照,执照",
    "丢了,丢失,遗失", "补办,补领,补发", "过期,到期,期满", "换证,换领", "多久,期限,时限",
    "多少钱,费用,收费标准", "怎么查,查询", "网上,线上,网上办理", "电话,热线,联系电话",
    "孕妇,孕产妇", "生孩子,生育", "结婚,婚姻登记", "离婚,离婚登记", "上学,入学", "幼儿园,学前教育",
    "退休,离退休", "罚款,罚单", "违章,交通违法", "证明,证明材料", "手续,流程,程序",
]


SYNONYM_PATHS = [Path(__file__).resolve().parent.parent / "search" / "data" / "synonyms.txt"]
_file_synonyms: list[str] | None = None


def file_synonyms() -> list[str]:
    """The synonym groups shipped with search (search/data/synonyms.txt), when present."""
    global _file_synonyms
    if _file_synonyms is None:
        groups = []
        for path in SYNONYM_PATHS:
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except OSError:
                continue
            groups.extend(ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith("#"))
        _file_synonyms = groups
    return _file_synonyms


def synonym_map(groups) -> dict[str, tuple[str, ...]]:
    """{word: other words of its groups} from comma-separated groups (or lists of words)."""
    out: dict[str, set[str]] = {}
    for g in groups:
        ws = [w.strip().lower() for w in (g.replace("，", ",").split(",") if isinstance(g, str) else g)]
        ws = [w for w in ws if w]
        for w in ws:
            out.setdefault(w, set()).update(x for x in ws if x != w)
    return {w: tuple(sorted(v)) for w, v in out.items() if v}
