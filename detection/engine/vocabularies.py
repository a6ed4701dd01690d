"""Controlled vocabularies the engine needs, free of Django: the models' choices are built from these."""

# (value, label): the value is what samples and the catalogue store; the order is the order of the choices.
PLATFORM_LABELS: tuple[tuple[str, str], ...] = (
    ("facebook", "Facebook"),
    ("instagram", "Instagram"),
    ("threads", "Threads"),
    ("x", "X/Twitter"),
    ("youtube", "YouTube"),
    ("tiktok", "TikTok"),
    ("douyin", "Douyin"),
    ("weibo", "Weibo"),
    ("wechat", "WeChat"),
    ("line", "LINE"),
    ("telegram", "Telegram"),
    ("ptt", "PTT"),
    ("dcard", "Dcard"),
    ("reddit", "Reddit"),
    ("vk", "VK"),
    ("web", "Websites"),
    ("email", "E-mail"),
    ("sms", "SMS"),
)
PLATFORMS: frozenset[str] = frozenset(value for value, _ in PLATFORM_LABELS)
