"""Persian, Korean, Russian, Simplified Chinese, French and Spanish for the default desks.

Adds these languages to what 0003_default_desks shipped: desk names and descriptions, question
labels and help texts, choice labels. A text whose English an admin has changed since is left
alone (a translation of the old English would be wrong), and so is a language an admin has
already written. The reverse removes exactly the texts added here. The data is frozen here, like
0003's, so that this migration means the same thing forever.
"""

from django.db import migrations

LANGUAGES = ("fa", "ko", "ru", "zh-hans", "fr", "es")


def text(en, fa, ko, ru, zh_hans, fr, es):
    return {"en": en, "fa": fa, "ko": ko, "ru": ru, "zh-hans": zh_hans, "fr": fr, "es": es}


# slug: {"name": ..., "description": ...}
DESKS = {
    "cyber": {
        "name": text(
            "Cyber attacks and hacking",
            "حملات سایبری و هک",
            "사이버 공격 및 해킹",
            "Кибератаки и взлом",
            "网络攻击与黑客行为",
            "Cyberattaques et piratage",
            "Ciberataques y piratería informática",
        ),
        "description": text(
            "State-sponsored hacking, ransomware, intrusions into companies or governments, and "
            "the people and infrastructure behind them.",
            "هک با حمایت دولت‌ها، باج‌افزار، نفوذ به شرکت‌ها یا نهادهای دولتی، و افراد و "
            "زیرساخت‌هایی که پشت آن‌ها هستند.",
            "국가 지원 해킹, 랜섬웨어, 기업이나 정부 기관에 대한 침입, 그리고 그 배후에 있는 "
            "사람과 인프라.",
            "Взлом при поддержке государств, программы-вымогатели, вторжения в системы компаний "
            "или государственных органов, а также стоящие за этим люди и инфраструктура.",
            "国家支持的黑客攻击、勒索软件、对企业或政府机构的入侵，以及背后的人员和基础设施。",
            "Piratage soutenu par des États, rançongiciels, intrusions dans des entreprises ou "
            "des administrations, ainsi que les personnes et les infrastructures qui se trouvent "
            "derrière.",
            "Ataques informáticos patrocinados por Estados, ransomware, intrusiones en empresas "
            "o gobiernos, y las personas e infraestructuras que están detrás.",
        ),
    },
    "crypto": {
        "name": text(
            "Cryptocurrency theft and laundering",
            "سرقت و پول‌شویی رمزارز",
            "암호화폐 탈취 및 세탁",
            "Кража и отмывание криптовалюты",
            "加密货币盗窃与洗钱",
            "Vol et blanchiment de cryptomonnaies",
            "Robo y lavado de criptomonedas",
        ),
        "description": text(
            "Thefts from exchanges or wallets, and the laundering of stolen or illicit "
            "cryptocurrency.",
            "سرقت از صرافی‌ها یا کیف‌پول‌ها، و پول‌شویی رمزارزهای سرقتی یا غیرقانونی.",
            "거래소나 지갑에서의 탈취, 그리고 탈취되었거나 불법적인 암호화폐의 세탁.",
            "Кражи с бирж или из кошельков, а также отмывание похищенной или незаконно "
            "полученной криптовалюты.",
            "从交易所或钱包窃取资产，以及对被盗或非法加密货币的洗钱活动。",
            "Vols sur des plateformes d'échange ou dans des portefeuilles, et blanchiment de "
            "cryptomonnaies volées ou illicites.",
            "Robos en plataformas de intercambio o billeteras, y lavado de criptomonedas "
            "robadas o ilícitas.",
        ),
    },
    "sanctions": {
        "name": text(
            "Sanctions evasion",
            "دور زدن تحریم‌ها",
            "제재 회피",
            "Уклонение от санкций",
            "规避制裁",
            "Contournement des sanctions",
            "Evasión de sanciones",
        ),
        "description": text(
            "Money, goods, ships or technology moved to get around sanctions.",
            "پول، کالا، کشتی یا فناوری که برای دور زدن تحریم‌ها جابه‌جا می‌شود.",
            "제재를 피하기 위해 옮겨지는 자금, 물품, 선박 또는 기술.",
            "Деньги, товары, суда или технологии, перемещаемые в обход санкций.",
            "为规避制裁而转移的资金、货物、船舶或技术。",
            "Argent, marchandises, navires ou technologies transférés pour contourner des "
            "sanctions.",
            "Dinero, mercancías, buques o tecnología que se trasladan para eludir sanciones.",
        ),
    },
    "other": {
        "name": text(
            "Something else",
            "موضوعی دیگر",
            "기타",
            "Другое",
            "其他",
            "Autre sujet",
            "Otro asunto",
        ),
        "description": text(
            "Anything else the program should know about.",
            "هر موضوع دیگری که برنامه باید از آن آگاه باشد.",
            "프로그램이 알아야 할 그 밖의 모든 사항.",
            "Всё остальное, о чём следует знать программе.",
            "本计划应当知晓的任何其他情况。",
            "Tout autre sujet dont le programme devrait avoir connaissance.",
            "Cualquier otro asunto que el programa deba conocer.",
        ),
    },
}

HOW_KNOWN_CHOICES = {
    "saw": text(
        "I saw it myself",
        "خودم آن را دیدم",
        "직접 보았습니다",
        "Это произошло у меня на глазах",
        "我亲眼所见",
        "Je l'ai vu moi-même",
        "Lo vi personalmente",
    ),
    "documents": text(
        "I have documents or data",
        "سند یا داده‌ای در اختیار دارم",
        "문서나 데이터를 가지고 있습니다",
        "У меня есть документы или данные",
        "我有文件或数据",
        "J'ai des documents ou des données",
        "Tengo documentos o datos",
    ),
    "told": text(
        "Someone told me",
        "کسی به من گفت",
        "다른 사람에게서 들었습니다",
        "Мне об этом рассказали",
        "有人告诉我",
        "Quelqu'un me l'a dit",
        "Alguien me lo contó",
    ),
    "other": text(
        "Another way",
        "از راهی دیگر",
        "다른 방법으로 알게 되었습니다",
        "Иным образом",
        "其他途径",
        "D'une autre manière",
        "De otra manera",
    ),
}

# key: {"label": ..., "help_text": ..., "choices": {value: ...}}; the same key means the same
# question on every default desk.
QUESTIONS = {
    "message": {
        "label": text(
            "What do you know?",
            "چه می‌دانید؟",
            "무엇을 알고 계십니까?",
            "Что Вам известно?",
            "您了解哪些情况？",
            "Que savez-vous\u00a0?",
            "¿Qué sabe?",
        ),
        "help_text": text(
            "Describe what happened, who is involved and how you know. Do not include your name "
            "unless you want to.",
            "شرح دهید چه اتفاقی افتاده، چه کسانی درگیر هستند و از کجا این را می‌دانید. نام "
            "خود را ننویسید، مگر اینکه بخواهید.",
            "무슨 일이 있었는지, 누가 관련되어 있는지, 그리고 어떻게 알게 되었는지 설명해 "
            "주십시오. 원하지 않으시면 이름은 적지 마십시오.",
            "Опишите, что произошло, кто в этом участвует и откуда Вам это известно. Не "
            "указывайте своё имя, если не хотите.",
            "请描述发生了什么、涉及哪些人，以及您是如何得知的。除非您愿意，否则请不要填写您的"
            "姓名。",
            "Décrivez ce qui s'est passé, qui est impliqué et comment vous le savez. "
            "N'indiquez pas votre nom, sauf si vous le souhaitez.",
            "Describa qué ocurrió, quién está implicado y cómo lo sabe. No incluya su nombre, "
            "salvo que lo desee.",
        ),
    },
    "when": {
        "label": text(
            "When did it happen or start?",
            "چه زمانی رخ داد یا آغاز شد؟",
            "언제 일어났거나 시작되었습니까?",
            "Когда это произошло или началось?",
            "事情发生或开始于何时？",
            "Quand cela s'est-il produit ou quand cela a-t-il commencé\u00a0?",
            "¿Cuándo ocurrió o comenzó?",
        ),
        "help_text": text(
            "An approximate date is fine.",
            "تاریخ تقریبی کافی است.",
            "대략적인 날짜도 괜찮습니다.",
            "Достаточно примерной даты.",
            "大致日期即可。",
            "Une date approximative suffit.",
            "Basta con una fecha aproximada.",
        ),
    },
    "how_known": {
        "label": text(
            "How do you know this?",
            "از کجا این را می‌دانید؟",
            "이 사실을 어떻게 알게 되셨습니까?",
            "Откуда Вам это известно?",
            "您是如何得知的？",
            "Comment le savez-vous\u00a0?",
            "¿Cómo lo sabe?",
        ),
        "choices": HOW_KNOWN_CHOICES,
    },
    "ongoing": {
        "label": text(
            "Is it still going on?",
            "آیا هنوز ادامه دارد؟",
            "아직도 계속되고 있습니까?",
            "Это продолжается до сих пор?",
            "这种情况是否仍在持续？",
            "Est-ce toujours en cours\u00a0?",
            "¿Sigue ocurriendo?",
        ),
    },
    "attachment": {
        "label": text(
            "Files (optional)",
            "فایل‌ها (اختیاری)",
            "파일(선택 사항)",
            "Файлы (необязательно)",
            "文件（可选）",
            "Fichiers (facultatif)",
            "Archivos (opcional)",
        ),
        "help_text": text(
            "Documents, screenshots or data. Files can reveal who made them: remove your name "
            "from documents if you can.",
            "اسناد، تصویرهای صفحه یا داده‌ها. فایل‌ها ممکن است هویت سازنده‌شان را آشکار کنند: "
            "اگر می‌توانید، نام خود را از اسناد حذف کنید.",
            "문서, 화면 캡처 또는 데이터. 파일을 보면 누가 만들었는지 드러날 수 있습니다. "
            "가능하면 문서에서 이름을 지우십시오.",
            "Документы, снимки экрана или данные. Файлы могут раскрыть, кто их создал: по "
            "возможности удалите из документов своё имя.",
            "文档、截图或数据。文件可能暴露其制作者的身份：如有可能，请从文档中删除您的姓名。",
            "Documents, captures d'écran ou données. Les fichiers peuvent révéler qui les a "
            "créés\u00a0: si possible, retirez votre nom des documents.",
            "Documentos, capturas de pantalla o datos. Los archivos pueden revelar quién los "
            "creó: si puede, elimine su nombre de los documentos.",
        ),
    },
    "group": {
        "label": text(
            "Which group, organisation or person is behind it, if you know?",
            "اگر می‌دانید، کدام گروه، سازمان یا شخص پشت آن است؟",
            "알고 계신다면, 어떤 집단, 조직 또는 개인이 배후에 있습니까?",
            "Какая группа, организация или какой человек за этим стоит, если Вам это известно?",
            "如果您知道，背后是哪个团体、组织或个人？",
            "Quel groupe, quelle organisation ou quelle personne se trouve derrière, si vous "
            "le savez\u00a0?",
            "¿Qué grupo, organización o persona está detrás, si lo sabe?",
        ),
    },
    "targets": {
        "label": text(
            "Who or what was targeted?",
            "چه کسی یا چه چیزی هدف قرار گرفت؟",
            "누구 또는 무엇이 표적이 되었습니까?",
            "Кто или что стало целью?",
            "攻击目标是谁或什么？",
            "Qui ou quoi a été visé\u00a0?",
            "¿Quién o qué fue el objetivo?",
        ),
    },
    "chains": {
        "label": text(
            "Which blockchains are involved?",
            "کدام بلاک‌چین‌ها درگیر هستند؟",
            "어떤 블록체인이 관련되어 있습니까?",
            "Какие блокчейны задействованы?",
            "涉及哪些区块链？",
            "Quelles blockchains sont concernées\u00a0?",
            "¿Qué cadenas de bloques (blockchains) están implicadas?",
        ),
        "choices": {
            "bitcoin": text(
                "Bitcoin", "بیت‌کوین", "비트코인", "Биткоин", "比特币", "Bitcoin", "Bitcoin"
            ),
            "ethereum": text(
                "Ethereum or another EVM chain",
                "اتریوم یا زنجیره‌ای دیگر سازگار با EVM",
                "이더리움 또는 다른 EVM 호환 체인",
                "Эфириум или другой EVM-совместимый блокчейн",
                "以太坊或其他 EVM 兼容链",
                "Ethereum ou une autre chaîne compatible EVM",
                "Ethereum u otra cadena compatible con EVM",
            ),
            "tron": text("Tron", "ترون", "트론", "Tron", "波场（Tron）", "Tron", "Tron"),
            "monero": text(
                "Monero", "مونرو", "모네로", "Monero", "门罗币（Monero）", "Monero", "Monero"
            ),
            "other": text(
                "Another chain",
                "زنجیره‌ای دیگر",
                "다른 체인",
                "Другой блокчейн",
                "其他区块链",
                "Une autre chaîne",
                "Otra cadena",
            ),
        },
    },
    "addresses": {
        "label": text(
            "Wallet addresses or transaction hashes",
            "نشانی‌های کیف‌پول یا هش تراکنش‌ها",
            "지갑 주소 또는 거래 해시",
            "Адреса кошельков или хеши транзакций",
            "钱包地址或交易哈希",
            "Adresses de portefeuilles ou hachages de transactions",
            "Direcciones de billetera o hashes de transacciones",
        ),
        "help_text": text(
            "One per line.",
            "در هر خط یک مورد.",
            "한 줄에 하나씩 입력하십시오.",
            "По одному в строке.",
            "每行一个。",
            "Un élément par ligne.",
            "Uno por línea.",
        ),
    },
    "countries": {
        "label": text(
            "Which countries are involved?",
            "کدام کشورها درگیر هستند؟",
            "어느 나라가 관련되어 있습니까?",
            "Какие страны к этому причастны?",
            "涉及哪些国家？",
            "Quels pays sont concernés\u00a0?",
            "¿Qué países están implicados?",
        ),
    },
    "sectors": {
        "label": text(
            "What is being moved?",
            "چه چیزی جابه‌جا می‌شود؟",
            "무엇이 옮겨지고 있습니까?",
            "Что перемещается?",
            "转移的是什么？",
            "Qu'est-ce qui est transféré\u00a0?",
            "¿Qué se está trasladando?",
        ),
        "choices": {
            "money": text(
                "Money or financial services",
                "پول یا خدمات مالی",
                "자금 또는 금융 서비스",
                "Деньги или финансовые услуги",
                "资金或金融服务",
                "Argent ou services financiers",
                "Dinero o servicios financieros",
            ),
            "energy": text(
                "Oil, gas or fuel",
                "نفت، گاز یا سوخت",
                "석유, 가스 또는 연료",
                "Нефть, газ или топливо",
                "石油、天然气或燃料",
                "Pétrole, gaz ou carburant",
                "Petróleo, gas o combustible",
            ),
            "technology": text(
                "Technology or electronics",
                "فناوری یا لوازم الکترونیکی",
                "기술 또는 전자 제품",
                "Технологии или электроника",
                "技术或电子产品",
                "Technologies ou électronique",
                "Tecnología o electrónica",
            ),
            "weapons": text(
                "Weapons or military goods",
                "سلاح یا تجهیزات نظامی",
                "무기 또는 군수품",
                "Оружие или военная продукция",
                "武器或军用物资",
                "Armes ou matériel militaire",
                "Armas o material militar",
            ),
            "shipping": text(
                "Ships or cargo",
                "کشتی یا محموله",
                "선박 또는 화물",
                "Суда или грузы",
                "船舶或货物",
                "Navires ou cargaisons",
                "Buques o cargamentos",
            ),
            "other": text(
                "Something else",
                "چیزی دیگر",
                "기타",
                "Другое",
                "其他",
                "Autre chose",
                "Otra cosa",
            ),
        },
    },
}


def add_to(texts, shipped) -> bool:
    """Add the languages ``texts`` lacks, if its English is still the shipped English."""
    if not isinstance(texts, dict) or texts.get("en") != shipped["en"]:
        return False
    missing = [language for language in LANGUAGES if not texts.get(language)]
    for language in missing:
        texts[language] = shipped[language]
    return bool(missing)


def remove_from(texts, shipped) -> bool:
    """Remove the languages of ``texts`` that still hold exactly the text added here."""
    if not isinstance(texts, dict):
        return False
    added = [language for language in LANGUAGES if texts.get(language) == shipped[language]]
    for language in added:
        del texts[language]
    return bool(added)


def change_desk(desk, change) -> bool:
    """Apply ``change`` to the desk's name and description, seen as {"en": ..., language: ...}.

    The English lives in the desk's own fields and the other languages in ``translations``
    (``{"ar": {"name": ..., "description": ...}}``), so each field is gathered into one dict,
    changed, and spread back.
    """
    if not isinstance(desk.translations, dict):
        return False
    changed = False
    for field, shipped in DESKS[desk.slug].items():
        texts = {"en": getattr(desk, field)}
        for language in LANGUAGES:
            entry = desk.translations.get(language)
            if isinstance(entry, dict) and entry.get(field):
                texts[language] = entry[field]
        if not change(texts, shipped):
            continue
        changed = True
        for language in LANGUAGES:
            entry = desk.translations.get(language)
            if entry is not None and not isinstance(entry, dict):
                continue  # not ours to repair
            entry = entry or {}
            if texts.get(language):
                entry[field] = texts[language]
            else:
                entry.pop(field, None)
            if entry:
                desk.translations[language] = entry
            else:
                desk.translations.pop(language, None)
    return changed


def change_question(question, change) -> bool:
    shipped = QUESTIONS.get(question.key)
    if shipped is None:
        return False
    changed = change(question.labels, shipped["label"])
    if "help_text" in shipped:
        changed = change(question.help_texts, shipped["help_text"]) or changed
    shipped_choices = shipped.get("choices", {})
    for choice in question.choices if isinstance(question.choices, list) else []:
        if isinstance(choice, dict) and str(choice.get("value")) in shipped_choices:
            changed = change(choice.get("labels"), shipped_choices[str(choice["value"])]) or changed
    return changed


def apply(apps, change) -> None:
    Desk = apps.get_model("tipline", "Desk")
    for desk in Desk.objects.filter(slug__in=DESKS).prefetch_related("questions"):
        if change_desk(desk, change):
            desk.save(update_fields=["translations"])
        for question in desk.questions.all():
            if change_question(question, change):
                question.save(update_fields=["labels", "help_texts", "choices"])


def add_languages(apps, schema_editor):
    apply(apps, add_to)


def remove_languages(apps, schema_editor):
    apply(apps, remove_from)


class Migration(migrations.Migration):
    dependencies = [("tipline", "0012_require_passkey")]
    operations = [migrations.RunPython(add_languages, remove_languages)]
