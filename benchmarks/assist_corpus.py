"""A corpus of resident descriptions for measuring category suggestion (issue 22).

Not the demo's templates: for each of the demo city's categories, many ways residents say the
problem in English and Spanish (plain, angry, vague, slang, very short), put together with
what they add around it (where, since when, what it did to them), then roughed up the way
people type on a phone: typos (dropped, doubled and swapped letters), no capitals or
punctuation, SHOUTING, Spanish without accents, and code-switching (an English message with
Spanish words and the reverse). Deterministic (seeded), spread over six months so the most
recent month can be held out.

    .venv/bin/python benchmarks/assist_corpus.py   # benchmarks/data/assist-corpus.jsonl
    .venv/bin/python benchmarks/assist_corpus.py --per-language 600 --out FILE

Each line: {"text", "language", "category", "created_at" (ISO, UTC), "phrase"} ("phrase": which
of the category's ways of saying it the text starts from, so a benchmark can hold out ways of
saying a problem that training never saw).
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).parent / "data" / "assist-corpus.jsonl"
START = datetime(2026, 5, 1, tzinfo=UTC)
DAYS = 183

#: category -> (English ways to say it, Spanish ways to say it)
PROBLEMS: dict[str, tuple[list[str], list[str]]] = {
    "pothole": (
        [
            "big hole in the road",
            "pothole",
            "massive pot hole nearly took my wheel off",
            "crater in the street",
            "the road is broken up and theres a deep hole",
            "hole in the asphalt keeps getting bigger",
            "my tyre burst on a hole in the road",
            "cars swerving round a huge hole in the lane",
            "sunken patch in the road full of water",
            "road surface crumbling, deep holes",
            "hit a pothole and bent my rim",
            "potholes all along the street",
        ],
        [
            "hay un bache enorme en la calle",
            "bache",
            "un hoyo grande en la calle",
            "se me poncho la llanta por un hoyo en la calle",
            "el pavimento esta roto y hay un agujero",
            "un crater en medio de la calle",
            "baches por toda la calle",
            "el asfalto se hundio y quedo un hoyo",
            "un bache que ya reventó dos llantas",
            "hoyo profundo en el carril",
        ],
    ),
    "streetlight": (
        [
            "street light is out",
            "streetlight not working",
            "the lamp post has been dark for a week",
            "light on the pole keeps flickering on and off",
            "whole street is pitch black at night, lights out",
            "street lamp broken",
            "light stays on all day",
            "no lights on our block, feels unsafe",
            "lamppost out",
        ],
        [
            "la luz de la calle no prende",
            "farola apagada",
            "el poste de luz esta apagado",
            "la lampara del poste parpadea toda la noche",
            "la calle esta muy oscura, no hay alumbrado",
            "el alumbrado publico no funciona",
            "la luz del poste se queda prendida de dia",
            "se fundio el foco del poste",
        ],
    ),
    "traffic-signal": (
        [
            "traffic light stuck on red",
            "the traffic signal is out at the intersection",
            "stoplight flashing yellow all day",
            "walk signal doesnt work",
            "traffic lights are dead, cars going every which way",
            "the green light is way too short",
            "signal pointing the wrong way after the storm",
            "pedestrian button broken at the crossing",
        ],
        [
            "el semaforo esta descompuesto",
            "semaforo en rojo todo el tiempo",
            "el semaforo no funciona en el cruce",
            "el semaforo parpadea en amarillo",
            "el boton para cruzar no sirve",
            "no hay semaforo funcionando, peligroso",
            "el semaforo quedo torcido despues de la tormenta",
        ],
    ),
    "street-sign": (
        [
            "stop sign knocked down",
            "street sign missing",
            "someone stole the street name sign",
            "the sign is bent over and you cant read it",
            "yield sign turned the wrong way",
            "speed limit sign fell over",
            "no stop sign anymore at the corner",
        ],
        [
            "se cayo la señal de alto",
            "falta el letrero con el nombre de la calle",
            "el letrero de alto esta doblado",
            "robaron la señal de la esquina",
            "el letrero de velocidad esta tirado",
            "no se puede leer el letrero de la calle",
        ],
    ),
    "sidewalk": (
        [
            "sidewalk is cracked and lifted",
            "tripped on the broken pavement",
            "tree roots pushed up the sidewalk",
            "footpath uneven, my mum fell",
            "big crack in the sidewalk, wheelchair cant get by",
            "curb ramp broken",
            "slabs of the sidewalk sticking up",
        ],
        [
            "la banqueta esta rota",
            "la acera esta levantada por las raices",
            "me tropece en la banqueta quebrada",
            "la acera tiene grietas enormes",
            "no pasa la silla de ruedas por la banqueta",
            "la rampa de la esquina esta rota",
        ],
    ),
    "snow-ice": (
        [
            "street not plowed",
            "road is a sheet of ice",
            "snow plow skipped our street again",
            "cars sliding on the ice on the hill",
            "nobody salted the road",
            "snow piled up, cant get out of the driveway",
            "icy road",
        ],
        [
            "no han quitado la nieve de la calle",
            "la calle esta congelada",
            "hay hielo en la calle y los carros se resbalan",
            "no pasó la barredora de nieve",
            "no echaron sal y esta resbaloso",
            "la nieve no deja salir los carros",
        ],
    ),
    "graffiti": (
        [
            "graffiti on the wall",
            "someone tagged the bus shelter",
            "spray paint all over the underpass",
            "gang tags on the fence",
            "offensive words painted on the school wall",
            "vandals sprayed the bridge",
            "tagging on the shop shutters",
        ],
        [
            "grafiti en la pared",
            "pintaron la parada del camion con aerosol",
            "rayaron toda la barda",
            "hay pintas en el muro de la escuela",
            "grafitis ofensivos en el puente",
            "pintarrajearon las cortinas de las tiendas",
        ],
    ),
    "abandoned-vehicle": (
        [
            "abandoned car",
            "car parked here for weeks without moving",
            "van with flat tyres and no plates",
            "junk car left on the street",
            "burnt out car dumped on the corner",
            "truck hasnt moved in a month, covered in leaves",
            "someone left an old car with smashed windows",
        ],
        [
            "carro abandonado",
            "un coche lleva semanas estacionado sin moverse",
            "una camioneta sin placas y con llantas ponchadas",
            "dejaron un carro chocado en la esquina",
            "un auto quemado tirado en la calle",
            "un carro viejo con los vidrios rotos lleva un mes aqui",
        ],
    ),
    "missed-collection": (
        [
            "trash wasnt picked up",
            "garbage truck skipped our house",
            "recycling not collected this week",
            "bins still full, nobody came",
            "they missed our pickup again",
            "rubbish collection missed",
            "garbage day came and went, cans still out",
        ],
        [
            "no pasaron por la basura",
            "el camion de la basura no vino",
            "no recogieron el reciclaje esta semana",
            "los botes siguen llenos, nadie paso",
            "otra vez se saltaron nuestra casa",
            "no se llevaron la basura el dia que tocaba",
        ],
    ),
    "bulk-pickup": (
        [
            "need a couch picked up",
            "how do i get rid of an old mattress",
            "pickup for a fridge and some furniture",
            "want to schedule bulk item collection",
            "old washing machine to be taken away",
            "big items to throw out, a sofa and a table",
        ],
        [
            "necesito que recojan un sillon viejo",
            "como tiro un colchon",
            "quiero programar la recoleccion de muebles",
            "tengo un refrigerador viejo para que se lo lleven",
            "recoger una lavadora y una mesa",
            "cosas grandes para tirar, un sofa y un ropero",
        ],
    ),
    "illegal-dumping": (
        [
            "someone dumped a pile of junk in the alley",
            "mattresses and tires dumped by the creek",
            "illegal dumping behind the store",
            "bags of rubbish thrown in the empty lot",
            "construction debris dumped on the verge",
            "fly tipping again on our road",
        ],
        [
            "tiraron un monton de basura en el callejon",
            "dejaron colchones y llantas junto al arroyo",
            "tiran basura ilegalmente detras de la tienda",
            "bolsas de basura tiradas en el terreno baldio",
            "tiraron escombro en la orilla de la calle",
            "siguen tirando basura en nuestra calle",
        ],
    ),
    "dead-animal": (
        [
            "dead deer on the road",
            "dead cat in the gutter",
            "roadkill raccoon by the curb",
            "a dead dog has been lying there for days, smells awful",
            "dead bird in the park",
            "dead possum outside my house",
        ],
        [
            "un perro muerto en la calle",
            "un gato muerto en la banqueta",
            "un venado atropellado en la carretera",
            "hay un animal muerto que ya huele horrible",
            "un mapache muerto junto a la acera",
            "un pajaro muerto en el parque",
        ],
    ),
    "park-maintenance": (
        [
            "swing broken at the playground",
            "park grass not mowed in weeks",
            "bench in the park is smashed",
            "the park bins are overflowing",
            "broken glass in the play area",
            "water fountain in the park doesnt work",
            "restrooms at the park are filthy",
        ],
        [
            "el columpio del parque esta roto",
            "no han cortado el pasto del parque",
            "la banca del parque esta destrozada",
            "los botes del parque estan desbordados",
            "vidrios rotos en los juegos infantiles",
            "el bebedero del parque no sirve",
            "los baños del parque estan asquerosos",
        ],
    ),
    "tree": (
        [
            "tree fell across the road",
            "big branch hanging over the sidewalk",
            "tree down after the storm",
            "dead tree leaning toward the house",
            "limb broke off and is blocking the street",
            "tree roots cracked and the trunk is rotten, about to fall",
            "branches touching the power lines",
        ],
        [
            "se cayo un arbol en la calle",
            "una rama grande colgando sobre la banqueta",
            "arbol caido despues de la tormenta",
            "un arbol seco se esta inclinando hacia la casa",
            "una rama rota bloquea la calle",
            "las ramas tocan los cables de luz",
        ],
    ),
    "water-leak": (
        [
            "water leaking from the street",
            "no water at my house since this morning",
            "water main burst, water everywhere",
            "hydrant leaking",
            "water bubbling up through the pavement",
            "very low water pressure",
            "brown water coming out of the tap",
        ],
        [
            "hay una fuga de agua en la calle",
            "no tenemos agua desde la mañana",
            "se rompio la tuberia y sale agua por todos lados",
            "el hidrante esta tirando agua",
            "sale agua del pavimento",
            "muy poca presion de agua",
            "sale agua cafe de la llave",
        ],
    ),
    "storm-drain": (
        [
            "storm drain blocked with leaves",
            "street flooded every time it rains",
            "drain is clogged and water is pooling",
            "gutter backed up, huge puddle across the road",
            "flooding at the corner, drain full of trash",
            "sewer grate covered with mud",
        ],
        [
            "la coladera esta tapada",
            "la calle se inunda cada vez que llueve",
            "el drenaje esta tapado y se encharca",
            "un charco enorme porque no baja el agua",
            "inundacion en la esquina, la alcantarilla llena de basura",
            "la rejilla del drenaje esta cubierta de lodo",
        ],
    ),
    "noise": (
        [
            "loud music every night",
            "neighbours partying till 3am",
            "dog barking nonstop",
            "someone revving motorbikes all night",
            "bar playing music way too loud",
            "car alarm going off for hours",
            "noise from the club next door",
        ],
        [
            "musica a todo volumen todas las noches",
            "los vecinos hacen fiesta hasta las 3",
            "un perro ladra sin parar",
            "motos haciendo ruido toda la noche",
            "el bar tiene la musica muy fuerte",
            "una alarma de carro sonando por horas",
            "mucho ruido del antro de al lado",
        ],
    ),
    "construction-hours": (
        [
            "construction crew working at 5am",
            "jackhammering on sunday morning",
            "builders making noise late at night",
            "site next door started drilling before 6",
            "construction work at midnight",
            "concrete trucks arriving at dawn",
        ],
        [
            "la obra empieza a trabajar a las 5 de la mañana",
            "martillando en domingo temprano",
            "los albañiles hacen ruido en la noche",
            "la construccion de al lado taladra antes de las 6",
            "trabajos de construccion a medianoche",
            "las revolvedoras llegan de madrugada",
        ],
    ),
    "housing-condition": (
        [
            "landlord wont fix the heating",
            "mold all over the bathroom in my apartment",
            "no hot water in my rental for two weeks",
            "roof leaking into the bedroom and the landlord ignores us",
            "cockroaches and rats in the building",
            "broken windows in my flat, landlord says not his problem",
        ],
        [
            "el casero no arregla la calefaccion",
            "hay moho en todo el baño del departamento",
            "no hay agua caliente en el departamento que rento",
            "se gotea el techo del cuarto y el dueño no hace nada",
            "cucarachas y ratas en el edificio",
            "ventanas rotas y el arrendador no las repara",
        ],
    ),
    "vacant-building": (
        [
            "empty house with the door wide open",
            "abandoned building, people going in at night",
            "vacant lot house with broken windows",
            "boarded up house, boards pulled off",
            "squatters in the empty shop",
            "derelict building falling apart",
        ],
        [
            "casa abandonada con la puerta abierta",
            "edificio abandonado, entra gente de noche",
            "casa vacia con las ventanas rotas",
            "le quitaron las tablas a la casa tapiada",
            "hay gente viviendo en el local vacio",
            "un edificio abandonado que se esta cayendo",
        ],
    ),
    "general": (
        [
            "i have a question about my bill",
            "who do i talk to about a permit",
            "not sure who to contact",
            "need information about city services",
            "want to give feedback about the website",
            "how do i register for a program",
        ],
        [
            "tengo una pregunta sobre mi recibo",
            "con quien hablo para un permiso",
            "no se a quien contactar",
            "necesito informacion sobre los servicios",
            "quiero dejar un comentario sobre la pagina",
            "como me inscribo a un programa",
        ],
    ),
}

STREETS = ["elm st", "oak ave", "main street", "5th ave", "maple rd", "river road", "pine", "cedar"]
CALLES = ["calle olmo", "av roble", "calle principal", "la 5", "calle arce", "camino del rio"]

WHERE_EN = [
    "outside {n} {s}",
    "on {s}",
    "near the school on {s}",
    "corner of {s} and {s2}",
    "by the bus stop",
    "in front of my house",
    "behind the supermarket",
    "at {s} near {n}",
    "",
]
WHERE_ES = [
    "afuera del {n} de {s}",
    "en {s}",
    "cerca de la escuela en {s}",
    "esquina de {s} y {s2}",
    "junto a la parada",
    "enfrente de mi casa",
    "atras del super",
    "",
]
OPEN_EN = ["", "", "hi ", "hello, ", "please help ", "um ", "again!! ", "fyi "]
OPEN_ES = ["", "", "hola ", "buenas, ", "por favor ", "oigan ", "otra vez ", "buenos dias "]
CLOSE_EN = [
    "",
    "",
    " pls fix",
    " been like this for weeks",
    " someone is going to get hurt",
    " this is ridiculous",
    " thx",
    " asap",
    " lol",
    " since last tuesday",
    " my kids walk past every day",
]
CLOSE_ES = [
    "",
    "",
    " arreglenlo porfa",
    " lleva semanas asi",
    " alguien se va a lastimar",
    " ya es el colmo",
    " gracias",
    " urge",
    " desde el martes",
    " mis hijos pasan diario por ahi",
]
#: Code-switching: a word or phrase of the other language dropped in.
SWITCH_IN_EN = [" la calle", " porfa", " ayuda", " mi casa", " ya", " bien peligroso"]
SWITCH_IN_ES = [" the street", " please", " asap", " ok", " so dangerous", " my house"]


def typo(rng: random.Random, text: str) -> str:
    """One slip of the thumb: a letter dropped, doubled, swapped with the next, or replaced
    by a neighbour on the keyboard."""
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if len(letters) < 4:
        return text
    i = rng.choice(letters[1:-1])
    kind = rng.randrange(4)
    if kind == 0:
        return text[:i] + text[i + 1 :]
    if kind == 1:
        return text[:i] + text[i] + text[i:]
    if kind == 2 and i + 1 < len(text):
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    near = {"a": "s", "e": "r", "i": "o", "o": "p", "u": "y", "s": "a", "t": "r", "n": "m"}
    return text[:i] + near.get(text[i], text[i]) + text[i + 1 :]


def strip_accents(text: str) -> str:
    return text.translate(str.maketrans("áéíóúñÁÉÍÓÚÑ", "aeiounAEIOUN"))


def describe(rng: random.Random, category: str, language: str) -> str:
    return described(rng, category, language)[0]


def described(rng: random.Random, category: str, language: str) -> tuple[str, int]:
    """(a description, the index of the way of saying the problem it starts from)."""
    english, spanish = PROBLEMS[category]
    es = language == "es"
    phrase = rng.randrange(len(spanish if es else english))
    problem = (spanish if es else english)[phrase]
    if rng.random() < 0.15:  # very short: the problem alone, maybe cut to a word or two
        words = problem.split()
        text = " ".join(words[: rng.randint(1, min(3, len(words)))]) if len(words) > 3 else problem
        if len(text) < 4:
            text = problem
    else:
        streets = CALLES if es else STREETS
        where = rng.choice(WHERE_ES if es else WHERE_EN).format(
            n=rng.randint(1, 2400), s=rng.choice(streets), s2=rng.choice(streets)
        )
        parts = [problem, where] if rng.random() < 0.7 else [where, problem]
        text = (
            rng.choice(OPEN_ES if es else OPEN_EN)
            + " ".join(p for p in parts if p)
            + rng.choice(CLOSE_ES if es else CLOSE_EN)
        )
        if rng.random() < 0.2:  # code-switching
            text += rng.choice(SWITCH_IN_ES if es else SWITCH_IN_EN)
        if rng.random() < 0.1:  # a second problem of the same kind, said another way
            text += ". " + rng.choice(spanish if es else english)
    for _ in range(rng.choice((0, 0, 1, 1, 2))):
        text = typo(rng, text)
    style = rng.random()
    if style < 0.1:
        text = text.upper()
    elif style < 0.45:
        text = text[:1].upper() + text[1:] + rng.choice((".", "!", "!!", ""))
    if es and rng.random() < 0.5:
        text = strip_accents(text)
    return text.strip(), phrase


def generate(per_language: int = 600, seed: int = 22) -> Iterator[dict[str, str]]:
    rng = random.Random(seed)
    codes = sorted(PROBLEMS)
    # Not every category is as common: potholes and trash more than vacant buildings.
    weights = [
        3 if c in ("pothole", "missed-collection", "streetlight", "noise") else 1 for c in codes
    ]
    for language in ("en", "es"):
        for _ in range(per_language):
            category = rng.choices(codes, weights)[0]
            created = START + timedelta(days=rng.uniform(0, DAYS))
            text, phrase = described(rng, category, language)
            yield {
                "text": text,
                "language": language,
                "category": category,
                "created_at": created.isoformat(),
                "phrase": phrase,
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-language", type=int, default=600)
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rows = sorted(generate(args.per_language, args.seed), key=lambda r: r["created_at"])
    with args.out.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"wrote {len(rows)} descriptions to {args.out}")


if __name__ == "__main__":
    main()
