"""The words of the demo city: streets, people, what residents write and what staff answer.

Descriptions may use ``{street}``, ``{cross}`` (another street in the same area), ``{park}``
and ``{num}`` (a house number).
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

#: How fast staff act on a category, as a share of the usual delays (emergencies are fast,
#: targets in days are kept most of the time), and on a priority.
PACE = {
    "water-leak": 0.08,
    "traffic-signal": 0.15,
    "missed-collection": 0.15,
    "pothole": 0.5,
    "streetlight": 0.7,
    "dead-animal": 0.5,
    "snow-ice": 0.3,
    "tree": 0.8,
}
PRIORITY_PACE = {"urgent": 0.3, "high": 0.6, "low": 1.3}

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

#: Public notes staff write when moving a request, by category and then by target status.
STAFF_NOTES: dict[str, dict[str, list[str]]] = {
    "pothole": {
        "in_progress": [
            "A patching crew is scheduled for this block.",
            "This pothole is on this week's repair list.",
        ],
        "resolved": [
            "The pothole was filled with hot asphalt.",
            "Crew patched this pothole and two others nearby.",
        ],
    },
    "streetlight": {
        "in_progress": ["An electrician has been assigned to check the pole."],
        "resolved": [
            "The lamp was replaced and the light works again.",
            "A loose connection was repaired; the light is back on.",
        ],
    },
    "traffic-signal": {
        "in_progress": ["A signal technician is on the way."],
        "resolved": [
            "The signal controller was reset and timing checked.",
            "A failed bulb module was replaced.",
        ],
    },
    "street-sign": {
        "resolved": ["A new sign was installed.", "The sign was straightened and re-anchored."],
    },
    "sidewalk": {
        "in_progress": [
            "The slab has been marked for grinding. A temporary warning cone is in place."
        ],
        "resolved": [
            "The raised edge was ground down and the trip hazard removed.",
            "The damaged section of sidewalk was replaced.",
        ],
    },
    "snow-ice": {
        "resolved": ["The street was plowed and salted.", "Salt was spread at the intersection."],
    },
    "graffiti": {
        "resolved": [
            "The graffiti was painted over.",
            "The graffiti was removed with a pressure washer.",
        ],
    },
    "abandoned-vehicle": {
        "in_progress": ["An officer tagged the vehicle. The owner has 72 hours to move it."],
        "resolved": ["The vehicle was towed.", "The owner moved the vehicle after it was tagged."],
    },
    "missed-collection": {
        "in_progress": ["The route supervisor has sent a truck back."],
        "resolved": [
            "Your cart was emptied this afternoon. Sorry for the miss.",
            "The truck went back and collected the whole block.",
        ],
    },
    "bulk-pickup": {
        "acknowledged": [
            "Your pickup is scheduled for your next collection day. Please put "
            "the items at the curb the night before."
        ],
        "resolved": ["The items were picked up."],
    },
    "illegal-dumping": {
        "in_progress": ["A cleanup crew has been assigned."],
        "resolved": [
            "The dumped material was removed.",
            "The lot was cleaned up and the tires taken for recycling.",
        ],
    },
    "dumping-witness": {
        "resolved": ["Thank you. An inspector followed up with the vehicle owner."],
    },
    "dead-animal": {
        "resolved": ["The animal was removed."],
    },
    "park-maintenance": {
        "in_progress": ["The park maintenance crew will visit this week."],
        "resolved": [
            "The equipment was repaired.",
            "The park was cleaned and the trash cans emptied.",
            "The restroom was repaired and reopened.",
        ],
    },
    "tree": {
        "in_progress": ["A forestry crew inspected the tree and scheduled the work."],
        "resolved": [
            "The branch was removed and the sidewalk cleared.",
            "The tree was pruned.",
            "The dead tree was taken down; the stump will be ground later this season.",
        ],
    },
    "water-leak": {
        "in_progress": ["A crew is on site. Water may be off on this block for a few hours."],
        "resolved": [
            "The leaking main was repaired and the street patched.",
            "The hydrant valve was replaced.",
        ],
    },
    "storm-drain": {
        "resolved": [
            "The storm drain was cleared of leaves and debris.",
            "The catch basin was cleaned with a vacuum truck.",
        ],
    },
    "noise": {
        "in_progress": ["Officers have been asked to check the address during patrol."],
        "resolved": [
            "Officers spoke with the people responsible.",
            "A warning was issued to the owner.",
        ],
    },
    "construction-hours": {
        "resolved": ["An inspector reminded the contractor of the permitted hours."],
    },
    "housing-condition": {
        "in_progress": [
            "An inspection has been scheduled. The inspector will call you to arrange a time."
        ],
        "resolved": [
            "The inspection found violations and the owner has been ordered to make "
            "repairs. We will re-inspect."
        ],
    },
    "vacant-building": {
        "resolved": ["The building was boarded up and the owner was cited."],
    },
}

GENERIC_NOTES: dict[str, list[str]] = {
    "acknowledged": [
        "Thank you for your report. We have passed it to the crew for this area.",
        "Thanks. We have received your report and will review it.",
        "Received. An inspector will look at this.",
    ],
    "in_progress": ["Work on this has started.", "A crew has been assigned."],
    "resolved": ["This has been taken care of. Thank you for letting us know."],
}

REJECT_NOTES = [
    "This location is on private property, so the city cannot act on it. Please contact the "
    "property owner.",
    "This is maintained by the county, not the city. We have forwarded your report to them.",
    "We could not find the problem at this location. If it is still there, please report it "
    "again with a photo.",
    "This is a state highway. Please contact the state transportation department.",
]

QUESTIONS = [
    "Could you tell us the nearest house number or a landmark? We could not find it.",
    "Can you send a photo of the problem? It will help the crew bring the right equipment.",
    "Is the problem still there? The crew did not see it when they drove by.",
    "Which side of the street is it on?",
]

ANSWERS = [
    "It is right across from the church, by the fire hydrant.",
    "Yes, it is still there. It is on the north side of the street.",
    "It is in front of the blue house on the corner.",
    "I added a photo. It is next to the bus stop.",
]

STAFF_COMMENTS = [
    "Update: the crew was delayed by the weather and will come next week.",
    "We are waiting for a part and expect to finish in a few days.",
    "This is on the schedule. Thank you for your patience.",
]

RESIDENT_COMMENTS = [
    "Any update on this? It is still a problem.",
    "Thank you for the quick response!",
    "It got worse after the rain last night.",
    "My neighbors reported this too.",
]

REOPEN_COMMENTS = [
    "This is not fixed. The problem is back.",
    "The crew came, but the problem is still there.",
    "It was only partly fixed; the other half is still broken.",
]

INTERNAL_NOTES = [
    "Assigned to the north crew. Check again Tuesday.",
    "Called the reporter, left a voicemail.",
    "Same address had a similar report last year.",
    "Needs a contractor; waiting on a quote.",
    "Inspector visited, photos saved in the work order.",
    "Coordinate with Water Utility before digging.",
]

#: Public notes when a case waits on someone outside the city's crews, by category.
THIRD_PARTY_NOTES: dict[str, list[str]] = {
    "streetlight": [
        "This pole belongs to Riverton Power & Light. We have asked them to repair "
        "it and will update this request when they do.",
        "The fault is in the utility's underground cable. Riverton Power & Light "
        "has the repair on its list.",
    ],
    "traffic-signal": [
        "The controller cabinet was damaged and a replacement is on order from "
        "the manufacturer. The signal is set to flash red until then."
    ],
    "water-leak": [
        "The leak is on a line shared with the gas company. We are waiting for "
        "them to mark their pipes before we can dig.",
        "Our contractor has been called out to repair the main.",
    ],
    "tree": [
        "The branches are tangled in power lines. The utility's line-clearance crew has "
        "to de-energize them before we can cut."
    ],
    "sidewalk": [
        "The replacement has been given to our concrete contractor. They will pour "
        "the new slab when the weather allows."
    ],
    "pothole": [
        "This trench was left by a utility contractor. We have asked them to restore "
        "the pavement as their permit requires."
    ],
    "vacant-building": [
        "The owner's bank holds the property. We have written to them and are waiting for a reply."
    ],
    "abandoned-vehicle": [
        "The vehicle is reported stolen. We are waiting for the owner's insurer to arrange a tow."
    ],
}
GENERIC_THIRD_PARTY_NOTES = [
    "We are waiting for an outside contractor to finish their part of the work.",
    "Another agency has to act first. We have asked them and will update this request.",
]
#: When the work resumes after the outside party has done its part.
RESUME_NOTES = [
    "The contractor has finished their part. Our crew is back on this.",
    "We heard back and the work can go ahead now.",
]
#: Public notes when the work is booked for a day; ``{day}`` is like "Tuesday, March 3".
SCHEDULED_NOTES: dict[str, list[str]] = {
    "pothole": ["A patching crew is booked for this block on {day}."],
    "sidewalk": ["The slab replacement is booked for {day}. Please keep the area clear."],
    "tree": ["The forestry crew is booked to do this work on {day}."],
    "bulk-pickup": [
        "Your pickup is booked for {day}. Please put the items at the curb the night before."
    ],
    "housing-condition": [
        "The inspection is booked for {day}. The inspector will call you to confirm the time."
    ],
    "streetlight": ["An electrician is booked to repair this light on {day}."],
    "storm-drain": ["The vacuum truck is booked for this catch basin on {day}."],
    "park-maintenance": ["The park crew is booked to do this work on {day}."],
}
GENERIC_SCHEDULED_NOTES = [
    "The work is booked for {day}.",
    "A crew is booked to come out on {day}.",
]

DUPLICATE_NOTE = "This is the same problem as {reference}. Please follow that request for updates."

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
