"""The desks and questionnaires a fresh install starts with. Admins edit them in the back office.

The data is frozen here (not imported from application code) so that this migration means the
same thing forever.
"""

from django.db import migrations


def text(en, ar):
    return {"en": en, "ar": ar}


def choice(value, en, ar):
    return {"value": value, "labels": text(en, ar)}


WHAT = {
    "key": "message", "kind": "long_text", "required": True,
    "labels": text("What do you know?", "ما الذي تعرفه؟"),
    "help_texts": text(
        "Describe what happened, who is involved and how you know. Do not include your name "
        "unless you want to.",
        "صف ما حدث، ومن المتورّط، وكيف عرفت ذلك. لا تذكر اسمك إلا إذا أردت ذلك.",
    ),
}
WHEN = {
    "key": "when", "kind": "date", "required": False,
    "labels": text("When did it happen or start?", "متى حدث ذلك أو متى بدأ؟"),
    "help_texts": text("An approximate date is fine.", "يكفي تاريخ تقريبي."),
}
HOW_KNOW = {
    "key": "how_known", "kind": "choice", "required": False,
    "labels": text("How do you know this?", "كيف عرفت ذلك؟"),
    "choices": [
        choice("saw", "I saw it myself", "رأيته بنفسي"),
        choice("documents", "I have documents or data", "لديّ وثائق أو بيانات"),
        choice("told", "Someone told me", "أخبرني شخص ما"),
        choice("other", "Another way", "بطريقة أخرى"),
    ],
}
ONGOING = {
    "key": "ongoing", "kind": "yes_no", "required": False,
    "labels": text("Is it still going on?", "هل ما زال ذلك مستمرًا؟"),
}
FILES = {
    "key": "attachment", "kind": "file", "required": False,
    "labels": text("Files (optional)", "ملفات (اختياري)"),
    "help_texts": text(
        "Documents, screenshots or data. Files can reveal who made them: remove your name from "
        "documents if you can.",
        "وثائق أو لقطات شاشة أو بيانات. قد تكشف الملفات هوية من أنشأها: احذف اسمك منها إن أمكن.",
    ),
}

DESKS = [
    {
        "slug": "cyber",
        "name": "Cyber attacks and hacking",
        "description": "State-sponsored hacking, ransomware, intrusions into companies or "
                       "governments, and the people and infrastructure behind them.",
        "ar": {"name": "الهجمات الإلكترونية والاختراق",
               "description": "الاختراق المدعوم من دول، وبرامج الفدية، والتسلل إلى الشركات أو "
                              "الحكومات، والأشخاص والبنية التحتية الذين يقفون وراء ذلك."},
        "questions": [
            WHAT,
            {"key": "group", "kind": "text", "required": False,
             "labels": text("Which group, organisation or person is behind it, if you know?",
                            "ما الجماعة أو المنظمة أو الشخص الذي يقف وراء ذلك، إن كنت تعرف؟")},
            {"key": "targets", "kind": "text", "required": False,
             "labels": text("Who or what was targeted?", "من أو ما الذي استُهدف؟")},
            WHEN, ONGOING, HOW_KNOW, FILES,
        ],
    },
    {
        "slug": "crypto",
        "name": "Cryptocurrency theft and laundering",
        "description": "Thefts from exchanges or wallets, and the laundering of stolen or "
                       "illicit cryptocurrency.",
        "ar": {"name": "سرقة العملات المشفّرة وغسلها",
               "description": "السرقات من منصات التداول أو المحافظ، وغسل العملات المشفّرة "
                              "المسروقة أو غير المشروعة."},
        "questions": [
            WHAT,
            {"key": "chains", "kind": "multiple_choice", "required": False,
             "labels": text("Which blockchains are involved?", "ما سلاسل الكتل المعنية؟"),
             "choices": [
                 choice("bitcoin", "Bitcoin", "بيتكوين"),
                 choice("ethereum", "Ethereum or another EVM chain",
                        "إيثريوم أو سلسلة أخرى متوافقة معها"),
                 choice("tron", "Tron", "ترون"),
                 choice("monero", "Monero", "مونيرو"),
                 choice("other", "Another chain", "سلسلة أخرى"),
             ]},
            {"key": "addresses", "kind": "long_text", "required": False,
             "labels": text("Wallet addresses or transaction hashes",
                            "عناوين المحافظ أو معرّفات المعاملات"),
             "help_texts": text("One per line.", "عنوان واحد في كل سطر.")},
            WHEN, HOW_KNOW, FILES,
        ],
    },
    {
        "slug": "sanctions",
        "name": "Sanctions evasion",
        "description": "Money, goods, ships or technology moved to get around sanctions.",
        "ar": {"name": "التهرّب من العقوبات",
               "description": "أموال أو بضائع أو سفن أو تقنيات تُنقل للالتفاف على العقوبات."},
        "questions": [
            WHAT,
            {"key": "countries", "kind": "text", "required": False,
             "labels": text("Which countries are involved?", "ما الدول المعنية؟")},
            {"key": "sectors", "kind": "multiple_choice", "required": False,
             "labels": text("What is being moved?", "ما الذي يجري نقله؟"),
             "choices": [
                 choice("money", "Money or financial services", "أموال أو خدمات مالية"),
                 choice("energy", "Oil, gas or fuel", "نفط أو غاز أو وقود"),
                 choice("technology", "Technology or electronics", "تقنيات أو إلكترونيات"),
                 choice("weapons", "Weapons or military goods", "أسلحة أو معدات عسكرية"),
                 choice("shipping", "Ships or cargo", "سفن أو شحنات"),
                 choice("other", "Something else", "شيء آخر"),
             ]},
            WHEN, ONGOING, HOW_KNOW, FILES,
        ],
    },
    {
        "slug": "other",
        "name": "Something else",
        "description": "Anything else the program should know about.",
        "ar": {"name": "أمر آخر", "description": "أي أمر آخر ينبغي أن يعرفه البرنامج."},
        "questions": [WHAT, FILES],
    },
]


def create_default_desks(apps, schema_editor):
    Desk = apps.get_model("tipline", "Desk")
    Question = apps.get_model("tipline", "Question")
    for data in DESKS:
        desk, created = Desk.objects.get_or_create(
            slug=data["slug"],
            defaults={"name": data["name"], "description": data["description"],
                      "translations": {"ar": data["ar"]}},
        )
        if not created:
            continue
        for position, question in enumerate(data["questions"]):
            Question.objects.create(
                desk=desk, position=position, key=question["key"], kind=question["kind"],
                required=question["required"], labels=question["labels"],
                help_texts=question.get("help_texts", {}), choices=question.get("choices", []),
            )


class Migration(migrations.Migration):
    dependencies = [("tipline", "0002_questions")]
    operations = [migrations.RunPython(create_default_desks, migrations.RunPython.noop)]
