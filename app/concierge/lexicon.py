"""The words the concierge reads requests by: numbers, money and budget cues, urgency, places, kinds of
vendor, item fillers and instruction-looking text, as word lists and patterns over accent-folded text.

Data only: the algorithms that use them are in ``app.concierge.amounts``, ``places`` and ``extraction``.
"""

from __future__ import annotations

import re

from app.concierge.types import Category, Urgency

WORD_NUMBERS = {
    "un": 1,
    "uno": 1,
    "una": 1,
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "quince": 15,
    "veinte": 20,
    "cien": 100,
    "doscientos": 200,
    "trescientos": 300,
    "cuatrocientos": 400,
    "quinientos": 500,
    "seiscientos": 600,
    "setecientos": 700,
    "ochocientos": 800,
    "novecientos": 900,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "twenty": 20,
    "fifty": 50,
    "hundred": 100,
    "a": 1,
}
NUMBER_WORDS = "|".join(sorted((w for w in WORD_NUMBERS if w != "a"), key=len, reverse=True))
CURRENCY_WORDS = r"pesos?|mxn|m\.?n\.?|varos|baros|usd|us dollars?|dolares|dollars?|dlls?|dls|bucks"
MONEY_PATTERN = re.compile(
    r"(?<![a-zñ0-9.,$])"
    r"(?P<pre>(?:us\s?\$|usd\s?\$?|mxn\s?\$?|\$)\s*)?"
    r"(?:"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?(?![\d,])"  # 1,200 / 1,200.50
    r"|\d{1,3}(?:\.\d{3})+(?![\d.])"  # 1.200 (no one quotes three decimals)
    r"|\d+(?:\.\d{1,2})?(?![\d]))"  # 850 / 1.5 / 45.90
    r"(?:\s*(?P<unit>mil|k|grand)(?![a-zñ]))?"
    rf"|(?:(?P<wnum>{NUMBER_WORDS}|a)\s+)?(?P<wunit>mil|thousand)(?![a-zñ])"  # "dos mil", "mil", "a thousand"
    rf"|(?P<wonly>{NUMBER_WORDS})(?=\s+(?:{CURRENCY_WORDS})(?![a-zñ]))"  # "quinientos pesos"
    r")"
    rf"(?:\s*(?P<cur>{CURRENCY_WORDS})(?![a-zñ]))?"
)
# Words after a number that make it something other than money.
NOT_MONEY_AFTER = re.compile(
    r"\s*(?:mg|mcg|ug|g|gr|grs|gramos?|kg|kilos?|ml|l|lts?|litros?|oz|onzas?|cm|mm|m|mts?|metros?|km|kms"
    r"|pulgadas?|in|inch(?:es)?|pies|ft|%|por ciento|percent|piezas?|pzas?|pz|pcs|pieces?|unidades|units?"
    r"|cajas?|boxes?|frascos?|tabletas?|tablets?|capsulas?|capsules?|pastillas?|pills?|sobres?|ampolletas?"
    r"|juegos?|sets?|pares|pairs?|años|anos|ano|año|years?|meses|months?|semanas?|weeks?|dias|days?"
    r"|horas?|hrs?|hours?|h|minutos?|mins?|minutes?|am|pm|a\.m\.|p\.m\.|puertas|doors|cilindros|v|volts?"
    r"|w|watts?|amperes?|amps?|ah|mah|gb|tb|mb|hp|cc|x)(?![a-zñ0-9])"
)
BUDGET_CUE = re.compile(
    r"(?<![a-zñ])(?:hasta|max|maximo|tope|limite|presupuesto|budget|no mas de|no mas|menos de|menor a|under"
    r"|up to|below|less than|at most|no more than|maximum|pagar|pago|gastar|spend|pay|cuesta|costar|entre"
    r"|between|traigo|tengo|cuento con|alrededor de|unos|como|around|about|aprox|aproximadamente)"
    r"(?:\s+(?:de|del|of|a|the|el|un|unos|es|is|to|como|about|around|maximo|max))*\s*\$?\s*$"
)
BUDGET_POST = re.compile(
    r"\s*(?:como maximo|maximo|max|tope|a lo mucho|at most|tops|max(?:imum)?|or less|o menos|aprox(?:imadamente)?"
    r"|mas o menos|approx(?:imately)?|en total|total|por todo|for everything)(?![a-zñ])"
)
RANGE_JOIN = re.compile(r"\s*(?:a|al|y|-|to|and)\s*\$?\s*")
PER_UNIT = re.compile(
    r"(?<![a-zñ])(?:c/u|c/\s?u|cada (?:un[oa]|pieza|una)|cada|por pieza|por unidad|la pieza|each"
    r"|per (?:unit|piece|item)|apiece|a piece)(?![a-zñ])"
)
NO_BUDGET = re.compile(
    r"(?<![a-zñ])(?:sin presupuesto|no tengo presupuesto|no hay presupuesto|no importa (?:el )?(?:precio|costo)"
    r"|lo que cueste|el precio que sea|cualquier precio|sin limite|no budget|any price|price doesn'?t matter"
    r"|whatever it costs|no price limit|no limit)(?![a-zñ])"
)
WEEKDAYS = (
    r"lunes|martes|miercoles|jueves|viernes|sabado|domingo|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
)
FLEXIBLE = re.compile(
    r"(?<![a-zñ])(?:no (?:me |nos )?urge|sin prisa|no hay prisa|no corre prisa|no tengo prisa"
    r"|cuando (?:sea|se pueda|puedan)|no rush|no hurry|whenever|any ?time|la (?:proxima|siguiente) semana"
    r"|next week|el (?:proximo|siguiente) mes"
    r"|next month|not urgent|no es urgente)(?![a-zñ])"
)
URGENCY_RULES: tuple[tuple[Urgency, re.Pattern[str]], ...] = (
    (
        Urgency.this_week,
        re.compile(
            rf"(?<![a-zñ])(?:esta semana|this week|en (?:estos|unos|un par de) dias|en \d dias|fin de semana"
            rf"|this weekend|(?:el )?weekend|pasado mañana|pasado manana|day after tomorrow|in \d days"
            rf"|(?:el|para el|antes del|by|on|this) (?:{WEEKDAYS}))(?![a-zñ])"
        ),
    ),
    (
        Urgency.tomorrow,
        re.compile(r"(?<![a-zñ])(?<!la )(?<!esta )(?<!por )(?<!de )(?:mañana|manana|tomorrow)(?![a-zñ])"),
    ),
    (
        Urgency.today,
        re.compile(
            r"(?<![a-zñ])(?:hoy(?: mismo)?|today|tonight|esta (?:tarde|noche|mañana|manana)|this (?:afternoon|evening"
            r"|morning)|en el dia|antes de que cierren|before closing)(?![a-zñ])"
        ),
    ),
    (
        Urgency.now,
        re.compile(
            r"(?<![a-zñ])(?:urgente(?:mente)?|urgencia|me urgen?|urge|emergencia|ya mismo|para ya|ahorita|ahora mismo"
            r"|ahora|de inmediato|inmediato|inmediatamente|lo antes posible|cuanto antes|lo mas pronto posible"
            r"|asap|right now|right away|now|urgent(?:ly)?|emergency|immediately|as soon as possible"
            r"|en este momento|en (?:una|1|2|dos) horas?|in (?:an|one|1|2|two) hours?)(?![a-zñ])"
        ),
    ),
)
COORDINATES = re.compile(r"(?<![\d.])(-?\d{1,2}\.\d{3,})\s*,\s*(-?\d{1,3}\.\d{3,})(?![\d.])")
LOCATION_CUE = re.compile(
    r"(?<![a-zñ])(?:cerca de(?: la| el| los)?|por (?:la zona de |el rumbo de |la colonia )?|rumbo a"
    r"|en (?:la )?(?:colonia |col\.? |zona )?|zona(?: de)?|colonia|col\.?|near(?: the)?|close to|around|in|by"
    r"|entrega en|a domicilio en|delivery to|deliver to)\s*:?\s*$"
)
# Cues strong enough that an unknown place after them is still a place ("cerca de Polanco Norte").
STRONG_LOCATION_CUE = re.compile(
    r"(?<![a-zñ])(?:cerca de(?: la| el| los)?|por (?:la zona de|el rumbo de|la colonia)|rumbo a|en la colonia"
    r"|en (?:la )?col\.?|colonia|col\.|zona(?: de)?|near(?: the)?|close to|delivery to|deliver to|entrega en"
    r"|a domicilio en)(?:\s*:\s*|\s+)(?P<place>[a-zñ0-9][a-zñ0-9 .'-]{1,59})"
)
PLACE_PREFIX = re.compile(
    r"^\s*(?:(?:ok|va|bueno|sale|pues)[,.]?\s+)?(?:(?:en|por|cerca de|near|in|around|at|zona|colonia|col\.?|rumbo a)"
    r"(?:\s+(?:la|el|los|las|the|zona|colonia|col\.?))*\s+)?",
    re.IGNORECASE,
)
RELOCATE = re.compile(
    r"(?<![a-zñ])(?:mejor|en vez de eso|en lugar de eso|instead|actually|cambia(?:lo)? a|change (?:it )?to)\s*,?\s*"
    r"(?:en|por|in|near|cerca de|a)\s+(?:(?:la|el|colonia|col\.?|zona)\s+)*(?P<place>[a-zñ][a-zñ0-9 .'-]{1,59})"
)
PLACE_END = re.compile(r"\s+(?:y|and|para|for|que|con|with|hoy|mañana|manana|today|tomorrow|hasta|por favor|please)\b")
CAR_MODELS = (
    r"jetta|vento|golf|polo|tsuru|sentra|versa|march|tiida|aveo|spark|beat|onix|corolla|yaris|camry|hilux|civic"
    r"|accord|crv|cr-v|mazda ?\d|cx-?\d|chevy|pointer|vocho|beetle|ranger|lobo|f-?150|frontier|np300|tacoma|rav4"
    r"|tiguan|ibiza|leon|rio|forte|sportage|accent|elantra|nissan|toyota|honda|ford|chevrolet|volkswagen|vw|kia"
    r"|hyundai|seat|mitsubishi|suzuki|swift|renault|duster|peugeot|fiat|dodge|ram|jeep"
)
CATEGORY_RULES: tuple[tuple[Category, re.Pattern[str]], ...] = (
    (
        Category.auto_parts,
        re.compile(
            r"(?<![a-zñ])(?:balatas?|pastillas de freno|frenos?|discos? de freno|rotores?|filtros? de (?:aceite|aire"
            r"|gasolina)|filtros?|aceite (?:de motor|sintetico|para motor)|anticongelante|bujias?|amortiguadores?"
            r"|llantas?|neumaticos?|rines?|acumulador|bateria (?:de|para) (?:auto|carro|coche)|radiador|alternador"
            r"|marcha|clutch|embrague|banda de distribucion|bandas?|faros?|calaveras?|espejo lateral|defensa"
            r"|parabrisas|limpiaparabrisas|plumas|refacciones?|autopartes|brake pads?|brakes?|rotors?|spark plugs?"
            r"|oil filter|air filter|filters?|motor oil|tires?|tyres?|shock absorbers?|shocks|alternator|radiator"
            r"|headlights?|bumper|windshield|wipers?|car battery|auto parts|spare parts?|car parts"
            rf"|{CAR_MODELS})(?![a-zñ])"
        ),
    ),
    (
        Category.pharmacy,
        re.compile(
            r"(?<![a-zñ])(?:recetas?|medicamentos?|medicinas?|farmacia|pastillas?(?! de freno)|tabletas?|capsulas?"
            r"|jarabe|suspension|ampolletas?|inyeccion|gotas|pomada|unguento|paracetamol|ibuprofeno|amoxicilina"
            r"|omeprazol|losartan|metformina|insulina|antibioticos?|naproxeno|diclofenaco|loratadina|salbutamol"
            r"|inhalador|aspirina|ketorolaco|azitromicina|ciprofloxacino|cetirizina|prednisona|enalapril"
            r"|\d+ ?mg|\d+ ?mcg|prescription|pharmacy|drugstore|pills?|tablets?|capsules?|syrup|medicines?"
            r"|medication|aspirin|tylenol|advil|ibuprofen|acetaminophen|amoxicillin|antibiotics?|inhaler|ointment)"
            r"(?![a-zñ])"
        ),
    ),
    (
        Category.hardware,
        re.compile(
            r"(?<![a-zñ])(?:tornillos?|clavos?|taquetes?|taladro|brocas?|martillo|pintura|brocha|rodillo|cemento"
            r"|yeso|tubos?|tuberia|pvc|codos?|llave (?:de paso|inglesa|stillson|perica)|pinzas|desarmador"
            r"|destornillador|cinta (?:de aislar|aislante|metrica)|silicon|pegamento|lijas?|ferreteria"
            r"|cable electrico|apagador|contactos? electricos?|focos?|bombillas?|tuercas?|rondanas?|candado"
            r"|screws?|nails?|drill|drill bits?|hammer|paint|paintbrush|wrench|pliers|screwdriver|pipes?|glue"
            r"|hardware store|bolts?|nuts|washers|padlock|light ?bulbs?|sandpaper|duct tape)(?![a-zñ])"
        ),
    ),
    (
        Category.electronics,
        re.compile(
            r"(?<![a-zñ])(?:cargador(?:es)?|celular(?:es)?|telefono|cable usb|usb|usb-?c|audifonos|bocinas?"
            r"|laptop|computadora|pantalla|television|televisor|tv|control remoto|mica|funda|chargers?|phone cases?"
            r"|phones?|headphones|earbuds|speakers?|laptops?|computer|monitor|tablet|iphone|samsung|xiaomi|hdmi"
            r"|power bank|memoria usb|sd card)(?![a-zñ])"
        ),
    ),
    (
        Category.services,
        re.compile(
            r"(?<![a-zñ])(?:plomero|plomeria|electricista|cerrajero|cerrajeria|tecnico|reparacion|reparar|arreglar"
            r"|arreglen|instalacion|instalar|mantenimiento|limpieza|mudanza|flete|grua|mecanico|jardinero|pintor"
            r"|carpintero|albañil|fumigacion|herrero|vulcanizadora|plumber|electrician|locksmith|repair|fix"
            r"|install(?:ation)?|cleaning|movers|moving|tow truck|mechanic|handyman|gardener|painter|carpenter"
            r"|technician)(?![a-zñ])"
        ),
    ),
)
INSTRUCTION_LIKE = re.compile(
    r"(?<![a-zñ])(?:ignor[ae]\w*|olvida\w*|disregard|forget) (?:\w+ ){0,3}(?:instrucciones|instructions|reglas|rules"
    r"|prompts?|mensajes?|messages?)"
    r"|system prompt|prompt del sistema|(?:you are|eres) (?:now |ahora )?(?:an? |un |una )?(?:ai|ia|assistant|asistente"
    r"|bot|chatgpt|dan)\b|act(?:ua|úa)? (?:as|como) |developer mode|modo desarrollador|jailbreak|<\s*/?\s*system"
    r"|\[\s*system\s*\]|^\s*(?:system|assistant|sistema)\s*:|reply with|responde (?:con|solo)|repite (?:tus|las)"
    r"|reveal|revela|api key|password|contraseña|contrasena"
    r"|(?:set|cambia|pon|establece|change) (?:the |el |la |tu |your )?(?:category|categoria|budget|presupuesto|price"
    r"|precio|status|estado|zona|zone)\s*(?:=|to|a|en)"
)
SENTENCE = re.compile(r"[^.!?¡¿\n]+[.!?\n]*")
GREETING = re.compile(
    r"(?<![a-zñ])(?:hola|holi|buen(?:os|as)? (?:dias|tardes|noches|dia)|buenas|que tal|oye|oiga|disculpa|disculpe"
    r"|perdon|por favor|porfa|porfavor|x ?favor|xfa|plis|gracias|muchas gracias|saludos|hi|hello|hey"
    r"|good (?:morning|afternoon|evening)|please|pls|thanks|thank you)(?![a-zñ])"
)
REQUEST_VERB = re.compile(
    r"(?<![a-zñ])(?:(?:yo )?(?:necesito|necesitamos|ocupo|ocupamos|requiero|busco|buscamos|ando buscando"
    r"|estoy buscando|quiero|quisiera|queria|me urgen?|me hace falta|me hacen falta|me falta|me faltan)"
    r"(?: (?:conseguir|comprar|encontrar))?"
    r"|(?:me )?(?:puedes|pueden|podrian|podrias) (?:conseguir(?:me)?|buscar(?:me)?|encontrar(?:me)?|ayudar a conseguir)"
    r"|me (?:consigues|consiguen|ayudas a conseguir|ayudan a conseguir)|conseguirme|(?:tienen|tendran|venden|manejan)"
    r"|(?:i )?(?:need|want|would like|am looking for|'m looking for|im looking for)|looking for|searching for"
    r"|(?:can|could) you (?:find|get)(?: me)?|do you (?:have|sell)|where can i (?:get|buy|find)|get me"
    r"|tambien|ademas|agrega|agregale|añade|añadele|also|plus|otra cosa|mejor|en vez de eso|en lugar de eso"
    r"|instead|actually|corrijo|cambia(?: a)?|change (?:it )?to)(?![a-zñ])"
)
ADD_CUE = re.compile(r"(?<![a-zñ])(?:tambien|ademas|agrega\w*|añade\w*|also|plus|otra cosa|and also)(?![a-zñ])")
REPLACE_CUE = re.compile(
    r"(?<![a-zñ])(?:mejor|en vez de|en lugar de|instead|actually|corrijo|cambia(?:lo)? (?:a|por)|change (?:it )?to"
    r"|no,? (?:es|son|eran|era))(?![a-zñ])"
)
ITEM_SPLIT = re.compile(r"\s*(?:[,;\n•·|+]|\s(?:y|e|and|&)\s|\s-\s)\s*")
BULLET = re.compile(r"^\s*(?:\d{1,2}[.)]\s+|[-*]\s+)")
LEADING_FILLER = re.compile(
    r"^(?:(?:de|del|la|el|los|las|lo|un(?! par de)|una|unos|unas|the|a(?! (?:pair|couple) of)|an|some|any|me|que"
    r"|para|for|por|of|to|y|and"
    r"|e|tambien|also|con|with|en|in|at|favor|mi|my|sus?)\s+)+"
)
TRAILING_FILLER = re.compile(
    r"(?:\s+(?:de|del|la|el|los|las|un|una|para|for|por|of|to|y|and|e|con|with|en|in|at|me|que|pls|porfa))+$"
)
DETAILS_CUE = re.compile(
    r"\s(?:para (?:un |una |el |la |mi |mis |los |las )?|for (?:a |an |the |my )?|modelo |model |marca |brand "
    r"|compatible (?:con|with) |que sea(?:n)? |that (?:is|are) )"
)
LEADING_QUANTITY = re.compile(
    rf"^(?:(?P<n>\d{{1,3}})\s*(?:x\s*)?|x\s*(?P<xn>\d{{1,3}})\s+|(?P<pair>un par de|a pair of|a couple of)\s+"
    rf"|(?P<w>{NUMBER_WORDS})\s+)(?=[a-zñ])"
)
TRAILING_QUANTITY = re.compile(r"\s+(?:x\s*(?P<a>\d{1,3})|(?P<b>\d{1,3})\s*(?:x|pzas?|piezas|pieces|pcs|unidades))$")
YEARISH = re.compile(rf"^(?:(?:{CAR_MODELS})\s+)?(?:modelo\s+|model\s+)?(?:19[5-9]\d|20[0-4]\d)$")
MODIFIERS = frozenset(
    {
        "delantera",
        "delanteras",
        "delantero",
        "delanteros",
        "trasera",
        "traseras",
        "trasero",
        "traseros",
        "izquierda",
        "izquierdo",
        "derecha",
        "derecho",
        "front",
        "rear",
        "left",
        "right",
        "originales",
        "original",
        "genericas",
        "genericos",
        "generico",
        "generica",
        "nuevas",
        "nuevos",
        "usadas",
        "usados",
        "grandes",
        "chicas",
        "chicos",
    }
)
# Fragments made only of these are leftovers of a sentence, not things to look for.
NOISE_WORDS = frozenset(
    [
        "es",
        "son",
        "esta",
        "estan",
        "sea",
        "sean",
        "is",
        "it",
        "its",
        "are",
        "be",
        "muy",
        "very",
        "lo",
        "la",
        "el",
        "los",
        "las",
        "que",
        "algo",
        "something",
        "ok",
        "okay",
        "bien",
        "si",
        "no",
        "mas",
        "more",
        "menos",
        "less",
        "maximo",
        "max",
        "minimo",
        "min",
        "aprox",
        "aproximadamente",
        "presupuesto",
        "budget",
        "total",
        "precio",
        "price",
        "urgente",
        "urgent",
        "rapido",
        "fast",
        "pronto",
        "soon",
        "favor",
        "porfa",
        "pls",
        "gracias",
        "thanks",
        "hola",
        "hi",
        "eso",
        "this",
        "that",
        "esto",
        "aqui",
        "here",
        "alla",
        "there",
        "zona",
        "area",
        "colonia",
        "col",
        "ubicacion",
        "location",
        "cerca",
        "near",
        "por",
        "en",
        "in",
        "a",
        "de",
        "para",
        "for",
        "con",
        "with",
        "y",
        "and",
        "o",
        "or",
        "pero",
        "but",
        "necesito",
        "need",
        "quiero",
        "want",
        "busco",
        "tengo",
        "have",
        "hay",
        "ya",
        "also",
        "tambien",
        "algun",
        "alguna",
        "any",
        "some",
        "cosa",
        "thing",
        "cosas",
        "things",
    ]
) | frozenset(
    # What is left of "mi cel (55) 1234-5678" or "fotos en bit.ly/x" once the number or link is cut out.
    [
        "mi",
        "my",
        "me",
        "al",
        "o",
        "or",
        "y",
        "and",
        "a",
        "at",
        "to",
        "de",
        "del",
        "cel",
        "celular",
        "cell",
        "movil",
        "mobile",
        "tel",
        "telefono",
        "phone",
        "numero",
        "number",
        "whatsapp",
        "whats",
        "wa",
        "correo",
        "email",
        "mail",
        "e",
        "contacto",
        "contact",
        "llamame",
        "marcame",
        "escribeme",
        "call",
        "text",
        "fotos",
        "foto",
        "photos",
        "photo",
        "pics",
        "link",
        "links",
        "liga",
        "ligas",
        "enlace",
        "enlaces",
        "pagina",
        "page",
        "web",
        "sitio",
        "site",
        "website",
        "instagram",
        "facebook",
    ]
)
MEASURE_AFTER = re.compile(
    r"\s*(?:mg|mcg|ug|g|gr|grs|gramos?|kg|kilos?|ml|l|lts?|litros?|oz|onzas?|cm|mm|m|mts?|metros?|pulgadas?|in"
    r"|inch(?:es)?|pies|ft|%|años|anos|ano|año|v|volts?|w|watts?|amps?|ah|mah|gb|tb|mb|hp|cc)(?![a-zñ0-9])"
)
SKIP_ANSWER = re.compile(
    r"^(?:no se|nose|no lo se|ni idea|da igual|me da igual|cualquiera|lo que sea|no importa|ninguno|ninguna|paso"
    r"|skip|no|nop|nel|n/?a|idk|i don'?t know|dont know|doesn'?t matter|does not matter|any|anything|whatever"
    r"|none|no preference|sin preferencia|como sea|no tengo|no hay)$"
)
# "estoy aquí", "te mando mi ubicación": a pointer to a location pin, never an item nor a place's name.
HERE = re.compile(
    r"(?<![a-zñ])(?:estoy aqui|aqui estoy|estoy aca|aca estoy|aqui mero|aqui mismo|por aqui|mi ubicacion"
    r"|(?:te |le )?(?:mando|envio|comparto|paso) (?:mi |la )?ubicacion|esta es mi ubicacion|i'?m here|i am here"
    r"|right here|my location|here is my location|sending (?:you )?my location)(?![a-zñ])"
)
