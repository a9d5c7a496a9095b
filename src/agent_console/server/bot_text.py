"""What the FAQ bot says and hears, per demo language (en es de fr pt ja).

Heard: a request for a person, a "yes, that solved it", a "no". Said: the answer around a
quoted article, the hand-off, the honest word on when a person answers, the goodbye.
Matching is on folded text (lower case, accents off) as whole words or phrases; Japanese,
written without spaces, matches as substrings. A language not listed speaks English.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

LANGUAGES: tuple[str, ...] = ("en", "es", "de", "fr", "pt", "ja")


def fold(text: str) -> str:
    """Lower case without accents: `Übertragen` -> `ubertragen`; Japanese stays as it is."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# --- what the customer says ----------------------------------------------------------------

# Asking for a person. Phrases on folded text; every language is checked, since a customer
# may ask in another language than the one detected. "Operator" alone is left out: on a mobile
# desk it is the customer's carrier (operador, opérateur), not a person to talk to.
_HUMAN = {
    "en": (
        r"(?:talk|speak|chat|connect me|put me through) (?:to|with) (?:a |an |some |your )?"
        r"(?:human|person|people|agent|someone|somebody|operator|representative|rep|real)",
        r"\b(?:human|real person|live (?:agent|person|chat)|representative)\b",
        r"^(?:an? )?agent(?: please| pls)?[.!?]*$",
        r"\bnot (?:a|the) (?:bot|robot|machine)\b",
        r"\b(?:a person|someone real|somebody real)\b",
    ),
    "es": (
        r"\bhablar con (?:una |un |alguien|el |la )?(?:persona|humano|agente|asesor|operador|alguien)",
        r"\b(?:agente humano|persona real|un humano|una persona|asesor|atencion humana)\b",
        r"\bme pasas con\b",
    ),
    "de": (
        r"\b(?:mensch|menschen|echte[nr]? person|mitarbeiter(?:in)?|berater(?:in)?|kundenberater)\b",
        r"\bmit (?:einer|einem|jemandem) (?:person|menschen|mitarbeiter)",
        r"\bkein(?:en)? (?:bot|roboter)\b",
    ),
    "fr": (
        r"\b(?:humain|vraie personne|personne reelle|conseiller|conseillere)\b",
        r"\bparler (?:a|avec) (?:un|une|quelqu'un|quelqu un|le|la)\b",
        r"\bpas (?:un|une|le) (?:bot|robot)\b",
    ),
    "pt": (
        r"\b(?:humano|atendente|pessoa de verdade|pessoa real|uma pessoa)\b",
        r"\bfalar com (?:um|uma|alguem|o|a)\b",
    ),
    "ja": ("人間", "担当者", "オペレーター", "オペレータ", "有人", "人と話", "スタッフと", "サポートの方"),
}
_HUMAN_RE = {lang: [re.compile(p) for p in patterns] for lang, patterns in _HUMAN.items() if lang != "ja"}


def asks_for_person(text: str) -> str | None:
    """The words with which the customer asked for a person, or None."""
    folded = fold(text)
    for patterns in _HUMAN_RE.values():
        for pattern in patterns:
            if found := pattern.search(folded):
                return found.group(0).strip()
    return next((word for word in _HUMAN["ja"] if word in text), None)


# "Yes, solved" and "no": the first words decide, and any negation or "but" makes it a no.
_YES = {
    "en": (
        "yes",
        "yep",
        "yeah",
        "yup",
        "solved",
        "thanks",
        "thank you",
        "that worked",
        "it worked",
        "it works",
        "perfect",
        "great",
        "fixed",
        "all good",
        "done",
    ),
    "es": ("si", "resuelto", "solucionado", "gracias", "funciono", "perfecto", "listo", "ya funciona"),
    "de": ("ja", "gelost", "danke", "hat geklappt", "es klappt", "funktioniert", "perfekt", "super"),
    "fr": ("oui", "resolu", "merci", "ca marche", "ca fonctionne", "parfait", "c'est bon"),
    "pt": ("sim", "resolvido", "obrigado", "obrigada", "funcionou", "perfeito", "deu certo"),
    "ja": ("はい", "解決", "ありがとう", "できました", "直りました"),
}
_NO_WORDS = frozenset(
    "no not nope didn't didnt doesn't doesnt don't dont still but can't cant won't isn't "
    "todavia sigue pero tampoco nicht nein kein keine immer aber non pas toujours mais "
    "nao ainda mas nem".split()
)
_NO_JA = ("いいえ", "ない", "ません", "まだ", "でも", "だめ", "ダメ")
_YES_RE = re.compile(
    r"^(?:"
    + "|".join(
        sorted({re.escape(w) for ws in _YES.values() for w in ws if w.isascii()}, key=len, reverse=True)
    )
    + r")\b"
)
_LONG = 120  # longer than this is a new question, not an answer to "did that solve it?"


def says_solved(text: str) -> bool:
    """True for the customer's "yes, that solved it" (the widget's button sends such a line)."""
    if len(text) > _LONG:
        return False
    if any(word in text for word in _NO_JA):
        return False
    if any(word in text for word in _YES["ja"]):
        return True
    folded = fold(text).strip(" ¡¿!.?,")
    words = set(re.findall(r"[\w']+", folded))
    if words & _NO_WORDS:
        return False
    return bool(_YES_RE.match(folded))


# --- what the bot says ---------------------------------------------------------------------

BOT_NAME = "Lumo bot"

_SAY = {
    "en": {
        "answer": "Here is what our help center says about this:",
        "link": "The full article: {url}",
        "ask": 'Did that solve it? Reply "yes" if it did, or tell me what is still wrong and '
        "I will bring in a person.",
        "handoff": "I am passing you to a person on our team. They will see everything you wrote here.",
        "soon": "Someone will answer here shortly.",
        "nobody": "Nobody from the team is online right now, so a person will answer as soon as "
        "someone is back.",
        "closed": "Nobody from the team is online right now. Our opening hours start again on "
        "{when}; a person will answer from then.",
        "solved": "Great, glad that helped! I have closed this conversation; write again any time.",
        "yes": "Yes, that solved it",
    },
    "es": {
        "answer": "Esto es lo que dice nuestro centro de ayuda:",
        "link": "El artículo completo: {url}",
        "ask": '¿Se ha resuelto? Responde "sí" si es así, o cuéntame qué sigue fallando y te '
        "paso con una persona.",
        "handoff": "Te paso con una persona de nuestro equipo. Verá todo lo que has escrito aquí.",
        "soon": "Alguien te responderá aquí en breve.",
        "nobody": "Ahora mismo no hay nadie del equipo conectado; una persona te responderá en "
        "cuanto vuelva alguien.",
        "closed": "Ahora mismo no hay nadie del equipo conectado. Nuestro horario vuelve a "
        "empezar el {when}; a partir de entonces te responderá una persona.",
        "solved": "¡Genial, me alegro de que te haya servido! He cerrado esta conversación; "
        "escríbenos cuando quieras.",
        "yes": "Sí, se ha resuelto",
    },
    "de": {
        "answer": "Das steht dazu in unserem Hilfe-Center:",
        "link": "Der ganze Artikel: {url}",
        "ask": 'Hat das geholfen? Antworte mit "ja", oder schreib mir, was noch nicht klappt, '
        "dann hole ich einen Menschen dazu.",
        "handoff": "Ich gebe dich an einen Menschen aus unserem Team weiter. Er sieht alles, was "
        "du hier geschrieben hast.",
        "soon": "Gleich antwortet dir hier jemand.",
        "nobody": "Gerade ist niemand aus dem Team online; ein Mensch antwortet, sobald jemand "
        "wieder da ist.",
        "closed": "Gerade ist niemand aus dem Team online. Unsere Öffnungszeiten beginnen wieder "
        "am {when}; ab dann antwortet dir ein Mensch.",
        "solved": "Super, freut mich, dass es geholfen hat! Ich habe das Gespräch geschlossen; "
        "schreib uns jederzeit wieder.",
        "yes": "Ja, das hat geholfen",
    },
    "fr": {
        "answer": "Voici ce que dit notre centre d'aide à ce sujet :",
        "link": "L'article complet : {url}",
        "ask": 'Est-ce que cela a résolu le problème ? Répondez "oui" si c\'est le cas, ou dites-moi '
        "ce qui ne va toujours pas et je fais venir une personne.",
        "handoff": "Je vous passe une personne de notre équipe. Elle verra tout ce que vous avez écrit ici.",
        "soon": "Quelqu'un va vous répondre ici sous peu.",
        "nobody": "Personne de l'équipe n'est en ligne pour le moment ; une personne vous "
        "répondra dès que quelqu'un sera de retour.",
        "closed": "Personne de l'équipe n'est en ligne pour le moment. Nos horaires reprennent "
        "le {when} ; une personne vous répondra à partir de ce moment.",
        "solved": "Parfait, ravi que cela ait aidé ! J'ai clos cette conversation ; écrivez-nous "
        "quand vous voulez.",
        "yes": "Oui, c'est résolu",
    },
    "pt": {
        "answer": "Veja o que diz a nossa central de ajuda:",
        "link": "O artigo completo: {url}",
        "ask": 'Isso resolveu? Responda "sim" se resolveu, ou me diga o que ainda não funciona '
        "e eu chamo uma pessoa.",
        "handoff": "Vou passar você para uma pessoa da nossa equipe. Ela verá tudo o que você escreveu aqui.",
        "soon": "Alguém vai responder aqui em breve.",
        "nobody": "Ninguém da equipe está online agora; uma pessoa vai responder assim que alguém voltar.",
        "closed": "Ninguém da equipe está online agora. Nosso horário de atendimento recomeça "
        "{when}; a partir daí uma pessoa vai responder.",
        "solved": "Ótimo, que bom que ajudou! Encerrei esta conversa; escreva quando quiser.",
        "yes": "Sim, resolveu",
    },
    "ja": {
        "answer": "ヘルプセンターの記事をご案内します。",
        "link": "記事の全文: {url}",
        "ask": "これで解決しましたか？解決した場合は「はい」とお答えください。まだ解決しない場合は"
        "内容をお知らせいただければ、担当者におつなぎします。",
        "handoff": "担当者におつなぎします。ここに書かれた内容はすべて担当者に伝わります。",
        "soon": "まもなく担当者がここでお答えします。",
        "nobody": "ただいまオンラインの担当者がおりません。担当者が戻りしだいお答えします。",
        "closed": "ただいまオンラインの担当者がおりません。次の営業開始は{when}です。"
        "その時点から担当者がお答えします。",
        "solved": "解決してよかったです！この会話は終了しました。いつでもまたご連絡ください。",
        "yes": "はい、解決しました",
    },
}

_DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "pt": (
        "segunda-feira",
        "terça-feira",
        "quarta-feira",
        "quinta-feira",
        "sexta-feira",
        "sábado",
        "domingo",
    ),
    "ja": ("月曜日", "火曜日", "水曜日", "木曜日", "金曜日", "土曜日", "日曜日"),
}


def speaks(language: str | None) -> str:
    return language if language in _SAY else "en"


def say(language: str | None, key: str, **values: str) -> str:
    return _SAY[speaks(language)][key].format(**values)


def when(moment: datetime, zone: ZoneInfo, language: str | None) -> str:
    """`Monday 09:00 (Europe/Madrid)` in the customer's language, at their zone's wall clock."""
    lang = speaks(language)
    local = moment.astimezone(zone)
    day = _DAYS[lang][local.weekday()]
    if lang == "ja":
        return f"{local.month}月{local.day}日({day}) {local:%H:%M}（{zone.key}）"
    if lang == "en":
        return f"{day}, {local.day} {local:%B} at {local:%H:%M} ({zone.key} time)"
    if lang == "pt":
        return f"na {day}, {local.day}/{local.month}, às {local:%H:%M} (horário de {zone.key})"
    return f"{day} {local.day}.{local.month}. {local:%H:%M} ({zone.key})"
