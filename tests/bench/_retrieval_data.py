"""Vocabulary of the retrieval benchmark: real Spanish and English words, most frequent first.

Each list is ordered roughly by how often the word appears in a business's knowledge base and in
everyday text (function words first, then common verbs and nouns, then the trade's terms, then rarer
words), so a Zipf weight by position makes common words match many chunks and rare ones few.
``*_NOUNS`` also get their plural (a real word too) at a lower weight, which roughly doubles the
vocabulary. Accents are kept: the full-text columns fold them with unaccent, as production does.
"""

from __future__ import annotations

SPANISH_FUNCTION = """
de la que el en y a los se del las un por con no una su para es al lo como más o pero sus le ya
este sí porque esta entre cuando muy sin sobre también me hasta hay donde quien desde todo nos
durante todos uno les ni contra otros ese eso ante ellos e esto mí antes algunos qué unos yo otro
otras otra él tanto esa estos mucho quienes nada muchos cual poco ella estar estas algunas algo
nosotros mi mis tú te ti tu tus ellas nuestro nuestra nuestros nuestras vosotros os mío mía cada
según tras mediante cuyo cuya aunque pues mientras luego así además entonces incluso sino bien
"""

SPANISH_VERBS = """
puede tiene hacer ser hay tener pueden tienen puedo debe deben necesita necesito incluye incluyen
ofrece ofrecemos aceptamos acepta realizar solicitar pagar recibir enviar entregar comprar vender
contratar cambiar devolver reservar apartar cancelar consultar revisar llamar escribir visitar
llegar salir abrir cerrar esperar ayudar conocer encontrar elegir manejar probar financiar cubrir
aplicar presentar firmar cotizar calcular depositar transferir registrar confirmar agendar
programar verificar validar actualizar renovar extender garantizar reparar instalar lavar pulir
entregamos enviamos recibimos atendemos abrimos cerramos contamos trabajamos manejamos vendemos
compramos ofrecen cobran aplican cubre cubren requiere requieren depende dependen funciona
funcionan cuesta cuestan vale valen sirve sirven queda quedan llega llegan dura duran mantener
seguir obtener lograr permitir facilitar asegurar inspeccionar evaluar aprobar rechazar liquidar
adelantar prorrogar refinanciar endosar tramitar gestionar notificar reembolsar acreditar
"""

SPANISH_NOUNS = """
auto cliente precio pago servicio horario garantía crédito vehículo sucursal día mes año semana
hora tarjeta documento información empresa contrato plazo enganche mensualidad tasa interés
seguro financiamiento entrega cita prueba manejo modelo versión marca kilometraje motor llanta
puerta asiento color unidad inventario oferta promoción descuento factura recibo comprobante
identificación domicilio nómina ingreso banco cuenta transferencia efectivo depósito cheque
devolución cambio reembolso política condición requisito trámite placa tenencia verificación
mantenimiento revisión afinación aceite filtro freno batería suspensión transmisión clima
camioneta sedán pickup equipo accesorio refacción taller mecánico asesor vendedor gerente
recepción oficina teléfono correo mensaje llamada pregunta respuesta duda problema solución
calle avenida colonia ciudad estado estacionamiento acceso entrada salida zona área centro
lunes martes miércoles jueves viernes sábado domingo mañana tarde noche mediodía fecha periodo
cliente usuario persona familia hijo padre madre trabajo negocio ventas compra venta cuota saldo
adeudo monto importe porcentaje valor costo tarifa comisión cargo penalización multa aviso
privacidad dato formulario solicitud expediente aprobación rechazo evaluación historial buró
aval referencia firma copia original folio número serie motorista chofer licencia permiso
póliza cobertura deducible siniestro accidente daño robo asistencia grúa viaje carretera
kilómetro litro gasolina diésel híbrido eléctrico cargador autonomía rendimiento consumo
potencia caballo cilindro velocidad sistema pantalla cámara sensor alarma llave control volante
espejo ventana cristal faro defensa cajuela cofre rin tapicería piel tela quemacocos navegador
bocina radio cargo manual automático estándar tracción frente vista foto video catálogo lista
reseña opinión calificación queja reclamo sugerencia encuesta evento feria exhibición lanzamiento
socio convenio alianza proveedor fabricante distribuidor agencia concesionario lote patio bodega
almacén pedido envío paquete guía rastreo domicilio ruta mapa ubicación dirección referencia
"""

SPANISH_RARE = """
odómetro alternador carburador embrague diferencial amortiguador radiador termostato inyector
catalizador escape silenciador bujía balata disco tambor cremallera dirección hidráulica
eléctrica convertible cupé familiar compacto subcompacto lujo deportivo todoterreno blindaje
polarizado encerado detallado tapizado restauración hojalatería pintura carrocería abolladura
rayón granizo inundación peritaje avalúo tasación subasta remate consignación usado seminuevo
certificado reacondicionado importado nacional fronterizo regularizado pedimento aduana arancel
impuesto deducción retención timbre fiscal emisor receptor régimen moral física constancia
situación actualización capacitación demostración cortesía obsequio regalo sorteo rifa cupón
monedero puntos lealtad membresía suscripción anualidad bonificación aguinaldo prima vacacional
jubilado pensionado estudiante emprendedor comerciante agricultor transportista flotilla
arrendamiento renta opción residual balón amortización anticipo prepago liquidación finiquito
pagaré fianza prenda hipoteca embargo cobranza morosidad atraso vencimiento prórroga condonación
quebranto moratorio ordinario anual efectivo nominal costo total promedio ponderado simulador
cotizador calculadora comparativo ficha técnica especificación dimensión capacidad carga remolque
enganchador rampa caja volteo redilas estaquitas chasis cabina doble sencilla larga corta alta
baja media ancho largo peso bruto neto tara eje rueda refacción gato herramienta extintor botiquín
triángulo chaleco señal reflejante cadena tensor cinturón bolsa aire airbag isofix anclaje silla
portabebé portaequipaje canastilla barras techo estribo loderas tapete funda cubierta protector
antirrobo bastón inmovilizador rastreador satelital localizador bloqueo remoto telemetría
conectividad aplicación bluetooth android carplay inalámbrico puerto cargador tomacorriente
ambientación iluminación neblinero xenón led halógeno direccional intermitente calavera
parabrisas limpiaparabrisas desempañador retrovisor abatible plegable calefactable ventilado
memoria lumbar ajuste altura profundidad reclinable banca tercera fila plazas pasajeros
"""

# Adjectives in the masculine singular; their feminine and plural forms are added too.
SPANISH_ADJECTIVES = """
nuevo usado bueno malo mejor peor grande pequeño alto bajo largo corto rápido lento caro barato
económico disponible necesario obligatorio opcional gratuito incluido adicional extra mensual
semanal diario anual total parcial mínimo máximo fijo variable flexible seguro cómodo amplio
espacioso moderno clásico blanco negro gris rojo azul verde plateado dorado único especial
exclusivo limitado completo básico intermedio avanzado premium oficial original genérico
certificado garantizado asegurado financiado aprobado pendiente vencido vigente activo inactivo
abierto cerrado ocupado libre lleno vacío limpio sucio perfecto excelente regular sencillo
doble triple automático manual delantero trasero lateral superior inferior interior exterior
frontal central cercano lejano próximo último primero segundo tercero siguiente anterior actual
reciente antiguo viejo joven rápido ágil potente eficiente ligero pesado resistente duradero
confiable recomendado popular famoso conocido nacional extranjero local regional público
privado personal familiar empresarial comercial industrial agrícola urbano rural digital
electrónico mecánico eléctrico hidráulico térmico sonoro visual claro oscuro brillante suave
duro caliente frío templado húmedo seco rugoso liso redondo cuadrado angosto ancho profundo
"""

# Everyday words of customers' messages and of the entries' prose.
SPANISH_COMMON = """
gente vez tiempo parte forma caso lugar mundo vida momento manera punto grupo tipo lado fin
hecho idea razón nombre casa camino cosa ejemplo orden medio resultado nivel cuestión proceso
acuerdo mercado programa proyecto producto calidad experiencia recurso objetivo necesidad
opción alternativa detalle diferencia ventaja beneficio riesgo error falla avería ruido olor
vibración fuga golpe choque revisión diagnóstico presupuesto estimado cálculo simulación
escenario plan paso etapa fase inicio final comienzo término apertura cierre llegada partida
regreso vuelta estancia visita recorrido traslado transporte camión autobús moto bicicleta
remolque tractor maquinaria herramienta material pieza repuesto componente módulo circuito
cable fusible relevador interruptor botón palanca pedal tablero indicador testigo luz foco
lámpara sonido voz idioma español inglés traducción texto palabra nota aviso alerta anuncio
noticia reporte informe resumen listado tabla gráfica imagen archivo carpeta sitio página
portal tienda sucursal matriz módulo caseta ventanilla mostrador sala espera cafetería baño
"""

ENGLISH_FUNCTION = """
the of and to a in is you that it for on are with as be this at or your we by from can not have
an will our if all but they more do so about which their what when one there also has any up out
only into other than then these its some may would who how them no just over such most should
through after before each where much very while both here those under between during without
"""

ENGLISH_VERBS = """
get make need want buy sell pay drive offer accept include provide apply require cover book
schedule cancel return exchange finance lease rent trade test check contact call email visit
open close deliver ship pick choose compare find help keep start stop change update renew extend
repair replace install wash detail inspect approve submit sign upload verify confirm request
receive send charge refund waive qualify earn save spend borrow owe transfer deposit withdraw
reserve hold order track arrive leave wait answer ask explain recommend suggest prefer depends
works costs takes lasts comes goes runs means stays covers includes requires offers accepts
"""

ENGLISH_NOUNS = """
car customer price payment service hour warranty credit vehicle branch day month year week time
card document information company contract term down rate interest insurance financing delivery
appointment test drive model version brand mileage engine tire door seat color unit inventory
offer promotion discount invoice receipt proof id address paycheck income bank account transfer
cash deposit check return exchange refund policy condition requirement plate registration
inspection maintenance oil filter brake battery suspension transmission climate truck sedan
pickup suv equipment accessory part shop mechanic advisor salesperson manager reception office
phone mail message call question answer doubt problem solution street avenue neighborhood city
state parking access entrance exit zone area downtown monday tuesday wednesday thursday friday
saturday sunday morning afternoon evening noon date period user person family job business sale
purchase fee balance amount value cost commission charge penalty fine notice privacy data form
application file approval rejection evaluation history bureau cosigner reference signature copy
number series driver license permit coverage deductible claim accident damage theft assistance
tow trip highway kilometer mile gallon gas diesel hybrid electric charger range efficiency
consumption power horsepower cylinder speed system screen camera sensor alarm key wheel mirror
window glass headlight bumper trunk hood rim upholstery leather fabric sunroof navigation
speaker radio manual automatic standard traction front view photo video catalog list review
opinion rating complaint suggestion survey event fair showroom launch partner agreement supplier
manufacturer dealer agency lot yard warehouse shipment package tracking route map location
"""

ENGLISH_RARE = """
odometer alternator carburetor clutch differential shock absorber radiator thermostat injector
catalytic exhaust muffler spark plug pad rotor drum rack steering hydraulic convertible coupe
wagon compact subcompact luxury sporty offroad armor tint wax detailing reupholstery restoration
bodywork paint dent scratch hail flood appraisal valuation auction consignment used preowned
certified refurbished imported domestic customs tariff tax deduction withholding stamp issuer
recipient regime statement training demonstration courtesy gift raffle coupon wallet points
loyalty membership subscription annual bonus retiree pensioner student entrepreneur merchant
farmer trucker fleet residual balloon amortization prepayment payoff settlement promissory bond
pledge mortgage lien repossession collection delinquency arrears maturity extension forgiveness
nominal weighted average simulator calculator comparison spec sheet dimension capacity payload
towing hitch ramp dump bed chassis cab crew single regular long short wide height weight gross
net axle spare jack toolkit extinguisher first aid triangle vest reflective chain strap belt
airbag anchor booster stroller roof rack crossbar running board mudguard floor mat cover
protector immobilizer tracker satellite locator remote telemetry connectivity app wireless
bluetooth port outlet ambient lighting fog xenon halogen turn signal taillight windshield wiper
defroster rearview folding heated ventilated lumbar adjustment recliner bench third row
passenger cupholder glovebox armrest console dashboard gauge cluster trim package edition
"""

# Everyday words of customers' messages and of the entries' prose.
ENGLISH_COMMON = """
new good great best better big small large high low long short fast slow cheap expensive
affordable available required optional free included additional extra monthly weekly daily
yearly full partial minimum maximum fixed flexible safe comfortable spacious modern classic
white black gray red blue green silver golden special exclusive limited complete basic
advanced premium official genuine approved pending expired valid active open closed busy empty
clean perfect excellent simple double triple front rear side upper lower interior exterior
central nearby next last first second third previous current recent old young powerful
efficient light heavy durable reliable recommended popular local regional public private
personal commercial industrial digital mechanical thermal clear dark bright soft hard hot cold
dry wet round square narrow deep people way thing place world life moment group type end fact
idea reason name home road example order result level process market program project product
quality experience resource goal need option choice detail difference advantage benefit risk
error failure breakdown noise smell vibration leak hit crash diagnosis estimate quote budget
plan step stage phase beginning finish arrival departure stay tour transport bus motorcycle
bicycle trailer tractor machinery tool material piece component module circuit cable fuse relay
switch button lever pedal panel indicator light bulb lamp sound voice language spanish english
translation text word note alert announcement news report summary table chart image folder site
page portal store headquarters booth window counter lounge waiting cafe restroom weekend holiday
"""


def _words(block: str) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for word in block.split():
        if word not in seen:
            seen.add(word)
            out.append(word)
    return out


_SPANISH_UNACCENT = str.maketrans("áéíóú", "aeiou")


def spanish_plural(word: str) -> str:
    """The plural of a Spanish noun (vowel: +s; consonant: +es, an accent on the last syllable goes)."""
    if word.endswith(("á", "é", "ó")) or word[-1] in "aeiou":
        return word + "s"
    if word.endswith("z"):
        return word[:-1] + "ces"
    stem = word
    if len(word) > 3 and word[-2] in "áéíóú":  # ión -> iones, ás -> ases
        stem = word[:-2] + word[-2].translate(_SPANISH_UNACCENT) + word[-1]
    return stem + "es"


def english_plural(word: str) -> str:
    """The plural of an English noun (+s; -y after a consonant: -ies; -s/-x/-ch/-sh: +es)."""
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh", "z")):
        return word + "es"
    return word + "s"


def spanish_forms(adjective: str) -> list[str]:
    """Feminine and plural forms of a Spanish adjective (nuevo: nueva, nuevos, nuevas; azul: azules)."""
    if adjective.endswith("o"):
        return [adjective[:-1] + "a", adjective + "s", adjective[:-1] + "as"]
    return [spanish_plural(adjective)]


def _interleave(*lists: list[str]) -> list[str]:
    out: list[str] = []
    for i in range(max(len(x) for x in lists)):
        out.extend(x[i] for x in lists if i < len(x))
    return out


def vocabulary(language: str) -> tuple[list[str], list[float], int]:
    """(words, Zipf weights, index of the first content word) of ``language`` ("es" or "en").

    Base words weigh 1/rank, in the order: function words, then everyday verbs, nouns, adjectives and
    common words interleaved, then the trade's rarer terms. Derived forms (plurals of nouns, feminine and
    plural adjectives) weigh 0.4 times their base word. Function words (full-text search drops them as
    stop words) come first, so content words start at the returned index.
    """
    if language == "es":
        function = _words(SPANISH_FUNCTION)
        nouns, adjectives = _words(SPANISH_NOUNS), _words(SPANISH_ADJECTIVES)
        everyday = _interleave(_words(SPANISH_VERBS), nouns, adjectives, _words(SPANISH_COMMON))
        rare = _words(SPANISH_RARE)
        derived = {**{n: [spanish_plural(n)] for n in nouns}, **{a: spanish_forms(a) for a in adjectives}}
    else:
        function = _words(ENGLISH_FUNCTION)
        nouns = _words(ENGLISH_NOUNS)
        everyday = _interleave(_words(ENGLISH_VERBS), nouns, _words(ENGLISH_COMMON))
        rare = _words(ENGLISH_RARE)
        derived = {n: [english_plural(n)] for n in nouns}
    base: list[str] = []
    seen: set[str] = set()
    for word in function + everyday + rare:
        if word not in seen:
            seen.add(word)
            base.append(word)
    content_start = len([w for w in base if w in set(function)])
    words = list(base)
    weights = [1.0 / rank for rank in range(1, len(base) + 1)]
    for rank, word in enumerate(base, start=1):
        for form in derived.get(word, ()):
            if form not in seen:
                seen.add(form)
                words.append(form)
                weights.append(0.4 / rank)
    return words, weights, content_start
