"""What residents file in the demo city: where, what and who.

The streets and parks of each area, how busy each area is and how often each category is
reported, the usual priority of a category, what residents write (descriptions in English and
Spanish, which may use ``{street}``, ``{cross}`` (another street in the same area), ``{park}``
and ``{num}`` (a house number)), their names, and sample answers to the categories' questions.
"""

from __future__ import annotations

#: Streets of Riverton by area code (addresses are drawn from the request's area).
STREETS: dict[str, list[str]] = {
    "westfield": [
        "Prairie Lane",
        "Westfield Road",
        "Cedar Street",
        "Harvest Drive",
        "Orchard Way",
        "Wheatland Avenue",
    ],
    "northside": [
        "Maple Avenue",
        "Birch Street",
        "Northview Drive",
        "Lincoln Avenue",
        "Ridge Road",
        "Summit Street",
    ],
    "eastgate": [
        "Eastgate Boulevard",
        "Commerce Drive",
        "Oak Street",
        "Industrial Parkway",
        "Sycamore Lane",
        "Foundry Road",
    ],
    "riverside": [
        "River Road",
        "Willow Street",
        "Mill Street",
        "Canal Street",
        "Heron Way",
        "Ferry Street",
    ],
    "old-town": [
        "Main Street",
        "Market Street",
        "Court Street",
        "1st Avenue",
        "2nd Avenue",
        "Church Street",
        "Bridge Street",
    ],
    "southpark": [
        "Southpark Avenue",
        "Elm Street",
        "Jefferson Street",
        "Meadow Lane",
        "Garfield Avenue",
        "Walnut Street",
    ],
}
FALLBACK_STREETS = ["Main Street", "Center Street", "Park Avenue"]

PARKS: dict[str, str] = {
    "westfield": "Prairie View Park",
    "northside": "Lincoln Park",
    "eastgate": "Eastgate Commons",
    "riverside": "Riverwalk Park",
    "old-town": "Courthouse Square",
    "southpark": "Southpark Playfield",
}

#: How busy each area is (Old Town is dense, Westfield is new and spread out).
AREA_WEIGHTS = {
    "old-town": 5,
    "riverside": 4,
    "northside": 4,
    "southpark": 3,
    "eastgate": 3,
    "westfield": 2,
}

#: How often each category is reported.
CATEGORY_WEIGHTS = {
    "pothole": 14,
    "streetlight": 10,
    "missed-collection": 10,
    "illegal-dumping": 8,
    "noise": 7,
    "graffiti": 6,
    "bulk-pickup": 5,
    "park-maintenance": 5,
    "sidewalk": 5,
    "tree": 5,
    "water-leak": 4,
    "storm-drain": 4,
    "abandoned-vehicle": 4,
    "housing-condition": 4,
    "traffic-signal": 3,
    "street-sign": 3,
    "dead-animal": 3,
    "snow-ice": 2,
    "vacant-building": 2,
    "construction-hours": 2,
    "dumping-witness": 1,
    # 311's triage category (email to the intake address): the history files none, and a
    # zero weight leaves every other pick of the seeded generator as it was.
    "general": 0,
}

#: Usual priority by category (others are "normal").
PRIORITIES = {
    "traffic-signal": "high",
    "water-leak": "high",
    "tree": "high",
    "bulk-pickup": "low",
    "graffiti": "low",
    "park-maintenance": "low",
}

DESCRIPTIONS: dict[str, list[str]] = {
    "pothole": [
        "Deep pothole in the eastbound lane of {street} just past {cross}. Cars are swerving "
        "around it.",
        "There is a pothole in front of {num} {street} that keeps getting bigger after every rain.",
        "Several potholes in a row on {street} between {cross} and the next block. One of them "
        "blew out my tire.",
        "Pothole at the corner of {street} and {cross}, right where bikes turn.",
        "Broken pavement near the storm drain on {street}. It is about a foot across.",
    ],
    "streetlight": [
        "The streetlight in front of {num} {street} has been out for a week. The block is very "
        "dark at night.",
        "Light at {street} and {cross} flickers on and off all night.",
        "Two streetlights out in a row on {street} near the bus stop.",
        "The light on the pole by {num} {street} stays on all day.",
    ],
    "traffic-signal": [
        "The signal at {street} and {cross} is stuck on red for northbound traffic.",
        "Traffic light at {street} and {cross} is flashing yellow in all directions.",
        "The walk signal at {street} and {cross} never comes on when you press the button.",
        "Left turn arrow at {street} and {cross} is too short; only two cars get through.",
    ],
    "street-sign": [
        "Stop sign at {street} and {cross} was knocked over, probably by a truck.",
        "The street name sign for {street} at {cross} is missing.",
        "Speed limit sign on {street} near {num} is covered by tree branches.",
        "The yield sign at {cross} and {street} is turned sideways.",
    ],
    "sidewalk": [
        "Sidewalk slab in front of {num} {street} is raised about two inches. My neighbor "
        "tripped on it.",
        "Big cracks in the sidewalk along {street} near {cross}; hard to push a stroller.",
        "The curb ramp at {street} and {cross} is broken and a wheelchair cannot get up it.",
    ],
    "snow-ice": [
        "{street} has not been plowed since the storm. Cars are getting stuck.",
        "Sheet of ice across {street} at {cross}; two cars slid into the intersection.",
        "The alley behind {num} {street} is still full of snow.",
    ],
    "graffiti": [
        "Graffiti on the retaining wall along {street} near {cross}.",
        "Someone tagged the bus shelter on {street}.",
        "Spray paint on the underpass at {street}. Some of it is offensive.",
        "Graffiti on the utility box at {street} and {cross}.",
    ],
    "abandoned-vehicle": [
        "A gray sedan with flat tires has been parked in front of {num} {street} for about "
        "three weeks.",
        "Van with no plates parked on {street} near {cross} for over 10 days.",
        "Old pickup truck on {street} has not moved in a month and is full of trash.",
    ],
    "missed-collection": [
        "Our trash was not picked up today. The cart was out by 6 a.m. at {num} {street}.",
        "Recycling was missed on {street} again this week, the whole block.",
        "Yard waste bags at {num} {street} were left behind.",
        "The truck skipped our side of {street} between {cross} and the corner.",
    ],
    "bulk-pickup": [
        "I need a pickup for an old couch and a mattress at {num} {street}.",
        "Please pick up a broken refrigerator at {num} {street}. It is by the alley.",
        "Two recliners and a dresser to pick up at {num} {street}.",
    ],
    "illegal-dumping": [
        "Someone dumped a pile of tires in the alley behind {num} {street}.",
        "Mattresses and trash bags dumped on the vacant lot at {street} and {cross}.",
        "Construction debris dumped along {street} near {cross}. Looks like drywall and shingles.",
        "Paint cans and old furniture left at the dead end of {street}.",
    ],
    "dumping-witness": [
        "I saw a white pickup truck unload old furniture in the alley behind {num} {street} "
        "around 11 p.m.",
        "A landscaping truck dumps branches on the lot at {street} and {cross} every week.",
    ],
    "dead-animal": [
        "Dead deer on the shoulder of {street} near {cross}.",
        "Dead raccoon in the street in front of {num} {street}.",
        "Dead cat on the sidewalk on {street}.",
    ],
    "park-maintenance": [
        "The swings at {park} are broken and the chains are hanging loose.",
        "Trash cans at {park} are overflowing and there is litter everywhere.",
        "The restroom at {park} has been locked all week.",
        "The grass at {park} is knee high by the ball field.",
        "Picnic table near the entrance of {park} has a broken bench.",
    ],
    "tree": [
        "A large branch fell on the sidewalk in front of {num} {street}.",
        "Dead tree in the parkway at {num} {street} is leaning toward the house.",
        "Cracked limb hanging over {street} near {cross}, about to fall.",
        "Tree branches are hiding the stop sign at {street} and {cross}.",
    ],
    "water-leak": [
        "Water bubbling up from the pavement on {street} at {cross}.",
        "The fire hydrant in front of {num} {street} is leaking.",
        "We have had no water at {num} {street} since this morning.",
        "Water running down the gutter on {street} for two days; it is not raining.",
    ],
    "storm-drain": [
        "The storm drain at {street} and {cross} is covered with leaves and the street floods "
        "when it rains.",
        "Big puddle across {street} in front of {num}; the drain is blocked.",
        "Water is pooling at the corner of {street} and {cross} after every storm.",
    ],
    "noise": [
        "Loud music from a house on {street} every weekend until 2 a.m.",
        "Car alarm going off for hours in the lot on {street} near {cross}.",
        "Motorcycles with loud exhaust racing on {street} late at night.",
        "The bar at {street} and {cross} plays music outside past midnight.",
    ],
    "construction-hours": [
        "Construction crew at {num} {street} started jackhammering at 5:30 a.m.",
        "Work on the new building at {street} and {cross} goes on until 10 p.m.",
    ],
    "housing-condition": [
        "No heat in our apartment at {num} {street} for five days. The landlord does not answer.",
        "Mold in the bathroom and bedroom, and the ceiling leaks when it rains.",
        "Mice in the kitchen and the back door lock has been broken for a month.",
        "No hot water in the building at {num} {street} since last week.",
    ],
    "vacant-building": [
        "The empty house at {num} {street} has a broken back door and people go in at night.",
        "Vacant store at {street} and {cross} has open windows and trash piling up.",
    ],
}

#: What Spanish-speaking residents write, for the categories they report most.
DESCRIPTIONS_ES: dict[str, list[str]] = {
    "pothole": [
        "Hay un bache muy hondo frente al {num} de {street}. Los carros se desvían.",
        "Baches en {street} entre {cross} y la esquina.",
    ],
    "streetlight": [
        "El poste de luz frente al {num} de {street} está apagado desde hace una semana."
    ],
    "missed-collection": [
        "No recogieron la basura hoy en el {num} de {street}. El bote estaba afuera temprano."
    ],
    "noise": [
        "Música muy alta en una casa de {street} todos los fines de semana hasta las "
        "2 de la mañana."
    ],
    "housing-condition": [
        "No hay calefacción en nuestro apartamento del {num} de {street} "
        "y el arrendador no contesta."
    ],
    "illegal-dumping": ["Tiraron colchones y bolsas de basura en el lote de {street} y {cross}."],
}

#: Contact details of residents who report without an account.
FIRST_NAMES = [
    "Angela",
    "Marcus",
    "Linda",
    "Jorge",
    "Keisha",
    "Tom",
    "Rosa",
    "Daniel",
    "Aisha",
    "Brian",
    "Mei",
    "Carlos",
    "Shannon",
    "Omar",
    "Patricia",
    "Luis",
    "Hannah",
    "Tyrone",
    "Guadalupe",
    "Eric",
    "Fatima",
    "Steve",
    "Yolanda",
    "Kevin",
]
LAST_NAMES = [
    "Johnson",
    "Williams",
    "Garcia",
    "Brown",
    "Nguyen",
    "Miller",
    "Hernandez",
    "Davis",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Jackson",
    "Martinez",
    "Lee",
    "Robinson",
    "Clark",
    "Ramirez",
    "Lewis",
    "Walker",
    "Okafor",
    "Kowalski",
]
SPANISH_FIRST_NAMES = ["María", "José", "Guadalupe", "Juan", "Rosa", "Luis", "Carmen", "Jorge"]
SPANISH_LAST_NAMES = [
    "García",
    "Hernández",
    "López",
    "Martínez",
    "Ramírez",
    "Torres",
    "Flores",
    "Morales",
]

#: Sample answers for text questions, by question code.
TEXT_SAMPLES: dict[str, list[str]] = {
    "plate": ["IL 4KR 229", "RVT 8812", "BX 51093", "MKT 302"],
    "vehicle": [
        "Gray Honda Civic",
        "White Ford van",
        "Blue Chevy pickup",
        "Red Toyota Camry",
        "Black SUV, dented rear door",
    ],
    "contractor": [
        "Prairie Builders",
        "New townhomes on the corner",
        "Roof replacement",
        "Kessler Construction",
    ],
}

#: Sensible ranges for number questions, by question code.
NUMBER_RANGES: dict[str, tuple[int, int]] = {
    "depth_inches": (1, 8),
    "lights_out": (1, 4),
    "days_parked": (8, 35),
    "item_count": (1, 5),
    "occupants": (1, 6),
}
