"""The national classification vocabularies (STANDARDS.md), seeded by a data migration."""

TOPICS = {
    "综合政务": ["政务公开", "政务督查", "应急管理", "电子政务", "文秘工作", "其他"],
    "国民经济管理、国有资产监管": ["经济运行", "发展规划", "国有资产监管", "其他"],
    "财政、金融、审计": ["财政", "金融", "审计", "税务", "其他"],
    "国土资源、能源": ["土地", "矿产", "能源", "其他"],
    "农业、林业、水利": ["农业", "林业", "水利", "其他"],
    "工业、交通": ["工业", "交通", "信息产业", "其他"],
    "商贸、海关、旅游": ["商贸", "海关", "旅游", "其他"],
    "市场监管、安全生产监管": ["市场监管", "安全生产监管", "食品药品监管", "其他"],
    "城乡建设、环境保护": ["城乡建设", "环境保护", "其他"],
    "科技、教育": ["科技", "教育", "其他"],
    "文化、广电、新闻出版": ["文化", "广播影视", "新闻出版", "其他"],
    "卫生、体育": ["卫生", "体育", "其他"],
    "人口与计划生育、妇女儿童工作": ["人口与计划生育", "妇女儿童", "其他"],
    "劳动、人事、监察": ["劳动就业", "社会保障", "人事工作", "监察", "其他"],
    "公安、安全、司法": ["公安", "安全", "司法", "其他"],
    "民政、扶贫、救灾": ["民政", "扶贫", "救灾", "其他"],
    "民族、宗教": ["民族事务", "宗教事务", "其他"],
    "对外事务": ["外交", "国际合作", "其他"],
    "港澳台侨工作": ["港澳", "台湾", "侨务", "其他"],
    "国防": ["国防动员", "人民防空", "其他"],
    "其他": [],
}
GENRES = ["决议", "决定", "命令(令)", "公报", "公告", "通告", "意见", "通知", "通报", "报告",
          "请示", "批复", "议案", "函", "纪要", "规章", "行政规范性文件", "其他"]
AUDIENCES = {"公民": ["自然人"], "法人": ["企业", "事业单位", "社会组织"], "其他组织": [], "公务员": []}


def seed(Classification) -> int:
    n = 0

    def add(scheme, name, parent, order):
        nonlocal n
        obj, created = Classification.objects.get_or_create(
            scheme=scheme, name=name, parent=parent, defaults={"sort_order": order})
        n += created
        return obj

    for i, (top, subs) in enumerate(TOPICS.items()):
        parent = add("topic", top, None, i)
        for j, sub in enumerate(subs):
            add("topic", sub, parent, j)
    for i, g in enumerate(GENRES):
        add("genre", g, None, i)
    for i, (top, subs) in enumerate(AUDIENCES.items()):
        parent = add("audience", top, None, i)
        for j, sub in enumerate(subs):
            add("audience", sub, parent, j)
    return n
