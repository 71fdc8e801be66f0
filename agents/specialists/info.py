"""Info specialist: answers from the tenant's knowledge base, never invents."""

from __future__ import annotations

import re
from typing import Any

from agents.state import TurnDeps, TurnState, TurnUpdate
from app.knowledge import service as knowledge_service
from app.knowledge.answers import (
    ANSWER_CHARS,
    More,
    about_whole_section,
    names_part,
    overview,
    start_queue,
    take,
    to_whatsapp,
)
from app.knowledge.chunking import Chunk
from app.knowledge.retrieval import query_terms
from app.knowledge.schemas import KnowledgeHit
from app.knowledge.synonyms import covers, named_concepts
from app.text.normalize import Language, fold, known_words, words
from app.text.variety import reply_hash
from app.text.wording import say

# "ok", "va", "no", "👍": the customer acknowledges; there is nothing to look up.
_ACKNOWLEDGEMENTS = frozenset(
    {
        "ok",
        "okay",
        "oki",
        "va",
        "vale",
        "sale",
        "no",
        "nop",
        "nel",
        "bien",
        "perfecto",
        "listo",
        "entendido",
        "excelente",
        "genial",
        "bueno",
        "ah",
        "aja",
        "mmm",
        "nope",
        "fine",
        "great",
        "cool",
        "alright",
        "got",
        "it",
        "understood",
        "k",
        "kk",
        "nah",
        "gotcha",
        "sounds",
        "good",
        "si",
        "sip",
        "yes",
        "yep",
        "claro",
        "sure",
    }
)
_QUESTION = re.compile(r"[?¿]")


def _acknowledges(text: str) -> bool:
    tokens = words(text)
    return bool(tokens) and all(t in _ACKNOWLEDGEMENTS for t in tokens) and len(tokens) <= 4


def _wordless_reply(deps: TurnDeps, language: Language) -> str | None:
    """What to say to a message with no words: a voice note, a video or a file we cannot read, a shared
    location, a photo no specialist took. None when the message had words."""
    kinds = [str(m.get("content_type") or "").split("/", 1)[0] for m in deps.media]
    if "audio" in kinds:
        return say("wordless.audio", language)
    if any(kind and kind != "image" for kind in kinds):
        return say("wordless.file", language)
    if deps.pin is not None:
        return say("wordless.location", language)
    if kinds:
        return say("wordless.photo", language)
    return None


def _asks_something(text: str) -> bool:
    """A question or a message with real words, as opposed to "asdfgh qwerty"."""
    return bool(_QUESTION.search(text) or known_words(fold(text)))


async def search_for_info(state: TurnState, deps: TurnDeps) -> list[KnowledgeHit]:
    """The knowledge entries the customer's message finds, above the tenant's evidence threshold.

    "Le agradezco. Una última pregunta, ¿puedo liquidar antes?": the preamble's words dilute the question's, so
    when the whole message finds nothing its ¿…? question is searched alone.
    """

    async def search(query: str) -> list[KnowledgeHit]:
        return await _search(state, deps, query)

    text = state["text"]
    asked = state["memory"].question_asked_again(text)
    if asked is not None:
        # "¿y la de Celaya?": the last question asked again; passages naming the new words first.
        hits = await search(f"{asked} {text}")
        new = {w for w in words(text) if len(w) >= 4} - set(words(asked))
        return sorted(hits, key=lambda h: not (new and covers(f"{h.title} {h.content}", new)))
    hits = await search(text)
    if hits:
        return hits
    # The ¿question? after a preamble, else the first question before what follows it ("Hi, what documents do I
    # need? I'm a foreigner with a residency card").
    marked = _MARKED_QUESTION.search(text)
    first = text[: text.index("?") + 1] if "?" in text.rstrip("? ") else None
    question = marked.group(1) if marked is not None and len(marked.group(1)) <= len(text) - 12 else first
    return await search(question) if question else hits


async def _search(state: TurnState, deps: TurnDeps, query: str, *, limit: int = 5) -> list[KnowledgeHit]:
    """The tenant's knowledge entries ``query`` finds, in the customer's language, above the evidence threshold."""
    return await knowledge_service.search_knowledge(
        deps.session,
        tenant_id=state["tenant"].id,
        query=query,
        language=state["language"],
        limit=limit,
        min_score=deps.knowledge_min_score,
    )


# The question of a message that opens with something else: "Gracias. Otra duda, ¿aceptan cheque?"
_MARKED_QUESTION = re.compile(r"¿\s*([^?¿]{6,})\??\s*$")


# "¿desde cuándo tienen el negocio?" is answered by "vendemos autos desde 2008" / "since 1998" / "15 años".
_FOUNDING = re.compile(
    r"\b(?:desde|since|en|in|founded in|fundada en)\s+(?:el\s+)?(?:19|20)\d\d\b|\b\d{1,3}\s+(?:anos|years)\b"
)


def _says(passage: str, terms: set[str]) -> bool:
    """Whether a passage speaks of a concept: one of its terms, or (the founding concept) a year since."""
    if covers(passage, terms):
        return True
    return "desde cuando" in terms and _FOUNDING.search(fold(passage)) is not None


def on_topic(question: str, hits: list[KnowledgeHit]) -> list[KnowledgeHit]:
    """The hits that speak of what the question names: "¿hacen descuento si pago de contado?" is about a
    discount, and a passage on buying cars for cash that never mentions one does not answer it (the
    question's other words found it). A question naming no topic of the lexicon keeps every hit."""
    concepts = named_concepts(question)
    if not concepts or not hits:
        return hits
    asked = {w for w in words(question) if len(w) >= 4}
    return [
        h
        for h in hits
        if any(_says(f"{h.title}\n{h.content}", terms) for terms in concepts)
        # "y si pago de contado, ¿qué papeles necesito?" is the pair "¿Y si pago de contado, qué necesito?",
        # whose answer never says "papeles": the passage's own question repeats the customer's words
        or len(asked & {w for w in words(_own_question(h)) if len(w) >= 4}) >= 2
    ]


def _own_question(hit: KnowledgeHit) -> str:
    """The question a passage answers, when it is an FAQ pair: the last part of its heading, if it asks."""
    last = (hit.heading or "").rsplit("/", 1)[-1].strip()
    return last if last.endswith("?") else ""


# "sí", "dime más", "tell me more", "¿y qué más?": the customer takes up the offer to hear the rest.
_YES = frozenset({"si", "sip", "simon", "claro", "dale", "porfa", "yes", "yeah", "yep", "sure", "please", "plz"})
_MORE_MARKERS = frozenset(
    {"mas", "more", "resto", "rest", "sigue", "siguele", "continua", "continue", "todo", "detalles", "details"}
)
_MORE_FILLER = frozenset(
    {
        *_YES,
        *_MORE_MARKERS,
        "ok",
        "okay",
        "va",
        "dime",
        "cuentame",
        "platicame",
        "muestrame",
        "quiero",
        "saber",
        "info",
        "informacion",
        "el",
        "la",
        "lo",
        "los",
        "de",
        "del",
        "y",
        "que",
        "por",
        "favor",
        "a",
        "ver",
        "me",
        "tell",
        "show",
        "give",
        "the",
        "of",
        "and",
        "go",
        "on",
        "keep",
        "going",
        "ahead",
        "what",
        "else",
        "gracias",
        "thanks",
    }
)


def wants_more(text: str) -> bool:
    """Whether ``text`` accepts an offer to say more ("sí", "dime más", "tell me more", "¿y qué más?")."""
    tokens = words(text)
    if not tokens or len(tokens) > 7 or not all(t in _MORE_FILLER for t in tokens):
        return False
    return any(t in _YES or t in _MORE_MARKERS for t in tokens)


async def answer_info(state: TurnState, deps: TurnDeps) -> TurnUpdate:
    """The passage answering the question, or the rest of the last one when asked; else "don't know"."""
    tenant = state["tenant"]
    language = state["language"]
    text = state["text"]
    memory = state["memory"]
    if memory.knowledge_more is not None and wants_more(text):
        continued = await _continue(state, deps)
        if continued is not None:
            return continued
    good = state.get("knowledge_hits")
    if good is None:
        good = await search_for_info(state, deps)
    good = on_topic(text, good)
    if not good:
        if not words(text) and (wordless := _wordless_reply(deps, language)) is not None:
            return {"agent": "smalltalk", "intent": "unknown", "reply": wordless}
        if _acknowledges(text):
            return {"agent": "smalltalk", "intent": "acknowledge", "reply": say("acknowledge", language)}
        if not _asks_something(text):
            values: dict[str, Any] = {"agent_name": tenant.persona.get("agent_name", "Ana"), "business": tenant.name}
            return {"agent": "smalltalk", "intent": "unknown", "reply": say("fallback", language, **values)}
        return await _dont_know(state, deps)
    best = good[0]
    # Entries come in both languages: take the customer's when its evidence is close to the best's.
    same_language = [h for h in good if h.language == language and _close_to(h, best)]
    chosen = same_language[0] if same_language else best
    # Other passages of the same entry the search also found ("todavía debo mi auto, ¿me lo reciben a
    # cuenta?" finds the trade-in rule and the one on cars still owed): read right after the chosen one.
    reply, left = await _passage_reply(state, deps, chosen, related=chosen.also)
    if reply_hash(reply) in memory.replies:
        # "estoy en buró, ¿aun así me lo dan?" right after the passage that says it: its sentences on that, not
        # the whole passage again.
        sentences = _sentences(chosen.content)
        focused = [s for terms in named_concepts(text) for s in _speaking_of(sentences, terms)]
        if focused:
            reply, left = " ".join(dict.fromkeys(focused))[: ANSWER_CHARS - _GREETING_ROOM], None
    extras = await _other_topics(state, deps, reply, chosen)
    if extras:
        reply = _with_extras(reply, extras)
    update: TurnUpdate = {
        "agent": "info",
        "intent": "info",
        "reply": reply,
        "sources": [{"id": str(chosen.id), "title": chosen.title}],
        "memory": memory.model_copy(
            update={
                "knowledge_more": left.model_dump() if left else None,
                "info_question": f"{memory.question_asked_again(text) or ''} {text}".strip()[-300:],
            }
        ),
    }
    if best.close_match and chosen is best and left is None and reply == chosen.content and not extras:
        update["faq_fast_path"] = True  # the curated text is the answer: no LLM call
    return update


# Where a message asking several things splits: "¿me la pasan a Mérida? ¿cuánto cobran? y ¿la garantía?",
# "horario de Cancún el domingo, tarjeta de crédito, enganche mínimo".
_CLAUSES = re.compile(r"[?¿;]|[,.](?=\s)|\s(?:y|and|e|tambien|ademas|also|ah y|otra cosa)\s", re.IGNORECASE)
# Sentence ends, blank lines and new list items or bold labels; a single line break inside a paragraph (a soft
# wrap of the company's text) is no end.
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n\s*\n|\n(?=\s*(?:[-*•·▪]|\d{1,2}[.)]\s|[^\w\s¿¡(\"'$]))")
MAX_EXTRA_TOPICS = 2
EXTRA_CHARS = 220  # of the passage's own words per further topic


async def _other_topics(state: TurnState, deps: TurnDeps, reply: str, chosen: KnowledgeHit) -> list[str]:
    """The sentences answering the other things a message asks, which the chosen passage does not speak of.

    "¿tienen garantía? ¿y aceptan tarjeta?": the passage on warranties answers the first; the card question
    is searched on its own clause and answered by the sentences of its best passage that speak of it. Each
    topic is a concept of the lexicon the message names; a topic the reply already covers adds nothing.
    """
    text = state["text"]
    clauses = [c.strip() for c in _CLAUSES.split(text) if c and len(words(c)) >= 1]
    if len(clauses) < 2:
        return []
    seen = {chosen.id}
    extras: list[str] = []
    for terms in named_concepts(text):
        if len(extras) >= MAX_EXTRA_TOPICS or covers(reply, terms) or any(covers(e, terms) for e in extras):
            continue
        clause = next((c for c in clauses if covers(c, terms)), None)
        if clause is None:
            continue
        hits = on_topic(clause, await _search(state, deps, clause, limit=3))
        for hit in hits:
            sentences = _sentences(hit.content)
            said = _speaking_of(sentences, terms)
            if not said or (hit.id in seen and all(s in reply for s in said)):
                continue
            part = ""
            for sentence in said[:2]:
                if len(part) + len(sentence) + 1 > EXTRA_CHARS:
                    break
                part = f"{part} {sentence}".strip()
            if part and part not in reply:
                extras.append(part)
                seen.add(hit.id)
            break
    return extras


def _sentences(markdown: str) -> list[str]:
    """A passage's sentences and list items in WhatsApp formatting, each on one line."""
    found = (" ".join(s.split()) for s in _SENTENCES.split(to_whatsapp(markdown)))
    # taken out of its list, an item is a sentence: "4) No aplica..." reads "No aplica..."
    return [_LIST_MARK.sub("", s) for s in found if s]


_LIST_MARK = re.compile(r"^(?:[-•·▪]|\d{1,2}[.)])\s+")


def _speaking_of(sentences: list[str], terms: set[str]) -> list[str]:
    """The sentences that say something of ``terms``: those naming them, and the answer under a question line
    that names them ("*¿Reciben mi auto a cuenta?*" → "Sí, autos 2012 o más nuevos.")."""
    found: list[str] = []
    for i, sentence in enumerate(sentences):
        if not covers(sentence, terms):
            continue
        if sentence.rstrip("*_ ").endswith("?"):
            after = sentences[i + 1] if i + 1 < len(sentences) else ""
            if after and not after.rstrip("*_ ").endswith("?"):
                found.append(after)
        else:
            found.append(sentence)
    return list(dict.fromkeys(found))


def _with_extras(reply: str, extras: list[str]) -> str:
    """The reply with the other topics' sentences after it, within the answer's aim (the passage gives way)."""
    added = "\n\n".join(extras)
    room = ANSWER_CHARS - _GREETING_ROOM - len(added) - 2
    if len(reply) > room:
        body = reply[: max(room - 1, 0)]
        cut = max(body.rfind(". "), body.rfind("\n"))
        reply = (body[: cut + 1] if cut > room // 3 else body.rstrip(" ,;:") + "…").rstrip()
    return f"{reply}\n\n{added}" if reply else added


async def _passage_reply(
    state: TurnState, deps: TurnDeps, hit: KnowledgeHit, *, related: list[int] | None = None
) -> tuple[str, More | None]:
    """The hit's passage in WhatsApp formatting, within the answer budget, and what is left of it.

    ``related``: ordinals of other chunks the search found in the same entry; those of the hit's section are
    read right after the hit, before the section's other sub-parts.
    """
    found = await knowledge_service.entry_chunks(deps.session, tenant_id=state["tenant"].id, entry_id=hit.id)
    chunks: list[Chunk]
    if found is not None and hit.ordinal is not None and _same_chunking(found[1], hit):
        title, chunks, ordinal = found[0].title, found[1], hit.ordinal
    else:  # chunked by another version of the chunker (until a rechunk): its matching text alone
        title, chunks, ordinal = hit.title, [Chunk(0, hit.heading or hit.title, hit.content)], 0
    plain = start_queue(chunks, ordinal)
    more = More(
        entry_id=str(hit.id),
        head=ordinal,
        queue=start_queue(chunks, ordinal, first=related or []),
        language=hit.language,
        turn=state["memory"].turns,
    )
    then: list[int] = []
    if names_part(chunks, ordinal, title, state["text"]):
        # "¿a qué hora abren en San Pedro?": that branch (and what the search found with it), the rest offered.
        now = [o for o in more.queue if o == ordinal or o in (related or [])]
        then = [o for o in more.queue if o not in now]
        more = more.model_copy(update={"queue": now})
    reply, left = _portion(state["language"], chunks, title, more, then=then)
    if left is not None and plain and plain[0] == ordinal and sorted(plain) == plain:
        # A section too long for one message, asked about as a whole: each sub-part in brief first.
        translate = hit.language != state["language"]  # an English question over a Spanish text: its terms too
        found_terms = query_terms(state["text"], language=state["language"], translate=translate)
        terms = [[w for w, _ in group] for group in found_terms]
        whole = about_whole_section(chunks, plain, terms, question=state["text"], title=title)
        brief = overview(chunks, title, plain, terms) if whole else None
        if brief is not None:
            return _brief(state["language"], brief, more.model_copy(update={"queue": plain}))
    return reply, left


def _same_chunking(chunks: list[Chunk], hit: KnowledgeHit) -> bool:
    """Whether the stored chunk the hit matched is the one the chunker cuts today at that position."""
    chunk = next((c for c in chunks if c.ordinal == hit.ordinal), None)
    return chunk is not None and (chunk.content == hit.content or len(chunks) == 1)


def _brief(language: Language, brief: str, more: More) -> tuple[str, More | None]:
    """A section's overview (as many of its lines as fit), offering the details from the section's start."""
    lead = say("knowledge_other_language", language) if more.language != language else ""
    offer = say("knowledge_more_offer", language)
    room = ANSWER_CHARS - _GREETING_ROOM - (len(lead) + 2 if lead else 0) - len(offer) - 2
    kept: list[str] = []
    for line in brief.split("\n"):
        if len("\n".join([*kept, line])) > room:
            break
        kept.append(line)
    body = "\n".join(kept).strip()
    return "\n\n".join(p for p in (lead, body, offer) if p), more


def _portion(
    language: Language, chunks: list[Chunk], title: str, more: More, *, then: list[int] | None = None
) -> tuple[str, More | None]:
    """Up to ``ANSWER_CHARS`` of the passage: a note when it is in the other language, the offer when more is left.

    ``then``: chunks offered after the passage even when it fits (the rest of a section the answer left out).
    """
    lead = say("knowledge_other_language", language) if more.language != language else ""
    offer = say("knowledge_more_offer", language)
    # Room for what compose may add in front ("¡Hola! ") keeps the whole message within the aim.
    room = ANSWER_CHARS - _GREETING_ROOM - (len(lead) + 2 if lead else 0)
    body, left, cut = take(chunks, title, more, budget=room)
    if left is not None or then:
        body, left, cut = take(chunks, title, more, budget=room - len(offer) - 3)
    if then:
        rest = {"queue": [*left.queue, *then]} if left else {"queue": then, "offset": 0}
        left = (left or more).model_copy(update=rest)
    if cut:
        body = body.rstrip(" ,;:") + "…"
    parts = [lead, body, offer if left is not None else ""]
    return "\n\n".join(p for p in parts if p), left


async def _continue(state: TurnState, deps: TurnDeps) -> TurnUpdate | None:
    """The rest of the passage offered last turn; None when there is no such offer (it lasts one turn)."""
    memory = state["memory"]
    try:
        more = More.model_validate(memory.knowledge_more)
    except ValueError:
        return None
    if more.turn != memory.turns - 1:
        return None
    found = await knowledge_service.entry_chunks(deps.session, tenant_id=state["tenant"].id, entry_id=more.entry_id)
    if found is None:
        return None
    entry, chunks = found
    language = state["language"]
    reply, left = _portion(language, chunks, entry.title, more.model_copy(update={"turn": memory.turns}))
    if not reply.strip():
        reply, left = say("knowledge_nothing_more", language), None
    return {
        "agent": "info",
        "intent": "info",
        "reply": reply,
        "sources": [{"id": str(entry.id), "title": entry.title}],
        "memory": memory.model_copy(update={"knowledge_more": left.model_dump() if left else None}),
    }


_GREETING_ROOM = 15

_DONT_KNOW = ("knowledge_dont_know", "knowledge_dont_know_again", "knowledge_dont_know_third")


async def _dont_know(state: TurnState, deps: TurnDeps) -> TurnUpdate:
    """Nothing written answers this: say so (in turns of wording), offer a person and what can be answered."""
    tenant = state["tenant"]
    language = state["language"]
    memory = state["memory"]
    reply = say(_DONT_KNOW[memory.turns % len(_DONT_KNOW)], language, business=tenant.name)
    topics = await knowledge_service.topic_titles(deps.session, tenant_id=tenant.id, language=language)
    if topics:
        reply = f"{reply} {say('knowledge_topics_hint', language, topics=', '.join(topics))}"
    update = {"offered_handoff": True, "knowledge_more": None}
    return {"agent": "info", "intent": "info", "reply": reply, "memory": memory.model_copy(update=update)}


def _close_to(hit: KnowledgeHit, best: KnowledgeHit) -> bool:
    if hit is best:
        return True
    lexical = hit.lexical_score is not None and hit.lexical_score >= (best.lexical_score or 0.0) * 0.75
    semantic = hit.similarity is not None and hit.similarity >= (best.similarity or 0.0) - 0.05
    return lexical or semantic
