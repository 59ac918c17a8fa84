"""Comparing a department's name with the registry's (姓名核对), as Polars expressions.

A row whose ID belongs to a registry person of another name is not that person: a truncated ID
(Excel kept 15 digits) can be the valid ID of someone else, and a death record matched to the
wrong person records a living person as dead. Only the variants a district allows
(`exchange.name_variants`) are taken as the same name:

| code | variant |
|---|---|
| spaces | spaces inside the name ("张 三") |
| width | 全角/半角 letters and digits ("ＡＢ" / "AB") |
| dots | the separator of minority names: · • ． . ・ ‧ (阿卜杜拉·买买提) |
| traditional | 繁体/简体 of the common characters of names (張三 / 张三) |
| former_names | a name the registry records as the person's former name (曾用名) |
"""

from __future__ import annotations

from collections.abc import Iterable

import polars as pl

VARIANTS = {"spaces": "空格", "width": "全角/半角", "dots": "少数民族姓名间隔号",
            "traditional": "繁体/简体", "former_names": "曾用名"}
_DOTS = ["•", "．", ".", "・", "‧", "･", "▪", "●", "°", "∙", "⋅", "•"]
# Common characters of Chinese names, traditional → simplified (surnames first). A character
# outside this table is compared as written: a refusal, never a wrong match.
_TRADITIONAL = (
    "張张 陳陈 劉刘 黃黄 趙赵 吳吴 鄭郑 馮冯 蔣蒋 韓韩 楊杨 許许 孫孙 馬马 羅罗 "
    "謝谢 葉叶 蕭萧 蘇苏 盧卢 鄧邓 賈贾 陸陆 錢钱 顧顾 龔龚 譚谭 賴赖 鍾钟 閻阎 範范 "
    "湯汤 歐欧 萬万 龍龙 鄒邹 喬乔 嚴严 韋韦 聶聂 閆闫 鄔邬 鮑鲍 華华 莊庄 費费 賀贺 "
    "雲云 藍蓝 溫温 鄺邝 車车 顏颜 淩凌 國国 偉伟 軍军 紅红 麗丽 輝辉 東东 勝胜 強强 "
    "濤涛 鵬鹏 傑杰 鳳凤 蘭兰 鳴鸣 寶宝 貴贵 嬌娇 璽玺 瑩莹 瓊琼 銀银 鐵铁 鋼钢 鑽钻 "
    "義义 禮礼 榮荣 興兴 發发 財财 順顺 長长 慶庆 豐丰 歡欢 綠绿 藝艺 愛爱 蓮莲 嬋婵 "
    "曉晓 靜静 賢贤 瑤瑶 儀仪 嶸嵘 嶺岭 馳驰 駿骏 驥骥 鴻鸿 鶴鹤 鷹鹰 龜龟 麥麦 黨党 "
    "齊齐 齡龄 壽寿 萊莱 蕓芸 娛娱 婭娅 嫻娴 嬡嫒 縣县 鄉乡 親亲 書书 學学 農农 業业 "
    "進进 運运 達达 遠远 連连 鄰邻 楓枫 樹树 橋桥 機机 權权 觀观 覺觉 誠诚 誼谊 謙谦 "
    "讓让 貞贞 賓宾 贊赞 輪轮 錦锦 鍊炼 鏡镜 鐘钟 閃闪 開开 間间 陽阳 隊队 雙双 雞鸡 "
    "電电 靈灵 韻韵 頌颂 飛飞 餘余 館馆 驕骄 魚鱼 鮮鲜 鳥鸟 鷗鸥 點点 黴霉 齒齿 蘊蕴 "
    "蔭荫 薈荟 蘆芦 葦苇 蒼苍 蓋盖 蔔卜 纓缨 綺绮 維维 綿绵 緣缘 練练 縈萦 紀纪 紋纹 "
    "純纯 紗纱 絲丝 經经 綸纶 網网 聖圣 聰聪 聲声 職职 膽胆 臺台 與与 舉举 舊旧 艷艳 "
    "莖茎 徵征 憶忆 懷怀 戰战 擁拥 數数 斕斓 時时 晉晋 暉晖 曄晔 會会 溝沟 滿满 潔洁 "
    "澤泽 濱滨 瀟潇 灣湾 煒炜 燦灿 爾尔 獻献 珮佩 瑋玮 環环 畢毕 盡尽 碩硕 祿禄 禎祯 "
    "穎颖 竇窦 競竞 筆笔 簡简 糧粮 紹绍 絢绚 統统 繼继 續续 纖纤 翹翘 聯联 肅肃 虛虚 "
    "蟬蝉 衛卫 裝装 訓训 詩诗 語语 譽誉 議议 豔艳 貝贝 賦赋 質质 躍跃 軒轩 輔辅 轉转 "
    "邁迈 邊边 郵邮 釗钊 鈞钧 鈺钰 銘铭 鋒锋 錫锡 鎮镇 鏈链 鐸铎 門门 閩闽 闊阔 陰阴 "
    "隨随 險险 雜杂 難难 韜韬 頂顶 項项 須须 頓顿 頤颐 頡颉 頻频 顯显 風风 颯飒 飄飘 "
    "饒饶 騰腾 驍骁 髮发 鬥斗 ")
TRADITIONAL = {p[0]: p[1] for p in _TRADITIONAL.split() if p[0] != p[1]}


def normalise_name(name: pl.Expr, variants: Iterable[str]) -> pl.Expr:
    """The name as compared under the allowed variants (always trimmed)."""
    allowed = set(variants)
    out = name.str.strip_chars(" \t\r\n\u3000")
    if "width" in allowed:
        out = out.str.normalize("NFKC")
    if "spaces" in allowed:
        out = out.str.replace_all(r"[\s\u3000]", "")
    if "dots" in allowed:
        out = out.str.replace_many(_DOTS, ["·"] * len(_DOTS))
    if "traditional" in allowed:
        out = out.str.replace_many(list(TRADITIONAL), list(TRADITIONAL.values()))
    return out
