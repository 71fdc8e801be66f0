"""Complaints and insults, in Spanish (with Mexican slang) and English: they get an apology and a person.

A complaint is never thanked, and never answered with "no tengo esa información".
"""

from __future__ import annotations

import re

from app.text.normalize import fold

_COMPLAINT = re.compile(
    r"\b(pesimo|pesima|malisimo|malisima|mal servicio|mala atencion|muy mal|que mal servicio|que malo|que mala|"
    r"no sirve[sn]?|no sirves para nada|no sirven para nada|inutil|inutiles|no me ayuda[sn]?|no ayuda[sn]?|"
    r"no entiende[sn]?|no me entiende[sn]?|no me estas entendiendo|no contesta[sn]?|nadie me contesta|"
    r"no me sirve[sn]?|no sirve de nada|no sirves de nada|(?:este|pinche|maldito) bot|bot (?:inutil|tonto|de mierda)|"
    r"nadie me (?:contesto|respondio|hizo caso|pelo|atendio)|no me (?:contestaron|respondieron|hicieron caso)|"
    r"que onda con ustedes|"
    r"nadie me atiende|me dejaron plantad[oa]|me quede esperando|sigo esperando|llevo horas|ya me canse|"
    r"estoy hart[oa]|que hueva|que flojera|que poca madre|poca madre|no mames|no manches con ustedes|"
    r"estafa|estafadores|fraude|rateros|ladrones|me robaron|me estafaron|me enga[nñ]aron|queja|quejarme|"
    r"reclamo|reclamacion|molest[oa]|enojad[oa]|encabronad[oa]|emputad[oa]|decepcionad[oa]|decepcion|"
    r"tonto|tonta|estupid[oa]|idiota|imbecil|pendej[oa]s?|baboso|babosa|menso|mensa|chafa|porqueria|"
    r"basura|mierda|chingada|chingadera|verga|culer[oa]|bot de|robot inutil|maquina inutil|"
    r"useless|stupid|idiot|dumb|terrible|awful|horrible|worst|complain|complaint|scam|scammers|rip.?off|"
    r"ridiculous|you suck|this sucks|sucks|annoying|fed up|not helpful|unhelpful|wtf|pathetic|garbage|"
    r"rude|disappointed|disappointing|waste of (my )?time|perdida de tiempo|no le sabes|no sabes nada|"
    r"gracias por nada|thanks for nothing|llevo [\w ]{0,20}esperando|nadie me (llama|marca|responde|regresa)|"
    r"no me han (llamado|marcado|contestado|respondido|regresado)|ni (contestan|responden|marcan)|"
    r"que mal pedo|mal pedo|bad service|poor service|terrible service|still waiting|been waiting|"
    r"(nobody|no one) (called|answered|replied|got back)|you guys suck|"
    # A promise broken: "me dijeron que estaba y ya lo vendieron", "no cumplieron", "you lied".
    r"(pues |ay )?que mal|me mintieron|nos mintieron|mentirosos|me vieron la cara|no es justo|no se vale|"
    r"no cumpl\w*|incumpl\w*|ya lo vendieron|lo vendieron sin|me dijeron que [\w ]{0,40} y (ya )?(no|lo)|"
    r"you lied|lied to me|unacceptable|not acceptable|sold it already|you promised|"
    # Unhappy after buying: "not happy", "the check engine light is already on", "ya me falló".
    r"not happy|unhappy|not satisfied|dissatisfied|not pleased|check engine[\w ]{0,20}already|already broke|broke down|"
    r"a lemon|"
    r"se descompuso|ya (me )?fallo|ya falla|me salio malo|me salio mala|salio defectuos[oa]|me vendieron (un|una) "
    r"(carro|auto|coche|camioneta) (malo|mala|chafa|defectuos[oa]|descompuest[oa]))\b"
)


# "el mío ya no sirve", "mi carro no funciona", "my car is useless": why they want another car, not a complaint.
_OWN_THING_BROKEN = re.compile(
    r"\b(?:el mio|la mia|mi (?:carro|auto|coche|camioneta|vehiculo|troca|nave|moto|motor|clima|bateria)|"
    r"el (?:carro|auto|coche|motor|clima) (?:que tengo|actual)|my (?:car|truck|old car|current car))"
    r"(?:\s+\w+){0,2}?\s+(?:ya\s+)?(?:no (?:sirve|funciona|jala|arranca)|is (?:useless|terrible|awful|garbage))\b"
)


def is_complaint(text: str) -> bool:
    """The customer complains or insults ("pésimo servicio", "no sirves", "this is useless")."""
    return bool(_COMPLAINT.search(_OWN_THING_BROKEN.sub(" ", fold(text))))
